// hws_engine: the layer engine of a linear or conv2d stage (SPEC sections 2 and 3).
//
// A matrix-vector engine for W (M x FAN_IN) with PX slots of PE lanes (hws_engine_lane) of
// SIMD multipliers and weight (always) and activation (ACT_SKIP) zero skipping. Per frame it
// processes OUT_H * OUT_W / PX groups of PX input vectors (one vector for a linear layer, PX
// windows of consecutive output pixels of one row, groups in row-major order, for a conv2d),
// requests them from its input buffer (hws_vector_buffer or hws_window_buffer, 1-cycle read
// latency; vector j of a group at bits [j*FAN_IN*A_BITS +: FAN_IN*A_BITS]) and writes PX
// output pixels (M channels each, pixel j at [j*M*OUT_BITS +: M*OUT_BITS]) per group to its
// output buffer; the last layer (REQUANT = 0) outputs raw accumulators. Slot j computes vector
// j of the group; all slots take a group at once.
//
// Cycle behaviour (SPEC section 4, a group for a vector). The slots take groups back to back,
// across frames:
//   start_o (cycle s; needs in_avail_i, out_free_i, and the previous frame's last group in
//                  the lanes) requests group 0; it arrives in s + 1 (ENGINE_FILL = 1);
//   a group enters the slots (swap) in the cycle the slowest lane of all slots finishes the
//                  previous one, or when it arrives if they are idle, and group g + 1 is
//                  requested in that cycle; the slots then take max_j max_p L_p(vector j)
//                  cycles (lanes and slots are synchronous per group);
//   release_o      pulses when the frame's last group enters the slots: the input buffer is
//                  no longer needed, and the next frame may start in that same cycle;
//   output pixels of group g are written (m_pix_valid_o) 4 cycles after the slots finish it,
//   and done_o pulses ENGINE_DRAIN = 5 cycles after they finish the frame's last group.
// Latency: 1 + sum_g max_j max_p L_p + 5 cycles per frame. Throughput: one frame per
// sum_g max_j max_p L_p cycles (fill and drain overlap the neighbouring frames).
// Backpressure: frame level only, through in_avail_i / out_free_i (the ping-pong buffers).
//
// Run-time memories (hws_pkg): <NAME>_weight in the layout STORE (SPEC section 6, see
// hws_engine_lane; the dense memory, shared by all lanes of all slots, lives here; the sparse
// and skip memories are per lane, one copy per slot) and <NAME>_bias (M lines of ACC_BITS).
// The README of a generated directory spells out the word formats.
// Requantization (REQUANT): the shift and threshold are the parameters SHIFT and THRESHOLD,
// constants of hws_requant (the shift is wiring). A simulation build shared by every weight
// set of a shape sets RUNTIME_REQUANT instead and takes them from the plusargs
// +<NAME>_shift=<int> +<NAME>_threshold=<int> at time 0 (missing: HWS_ERROR, $fatal); the
// requantizer's datapath is the same.
// Synthesis (SYNTHESIS defined): the memories are ROMs initialised from <NAME>_weight.mem in
// the working directory, the requantization constants are always the parameters, and the
// parameter checks are left out.
`default_nettype none

module hws_engine #(
  parameter int unsigned M               = 8,   // rows: output channels
  parameter int unsigned FAN_IN          = 8,   // K: in_features, or KERNEL*KERNEL*C_in
  parameter int unsigned PE              = 1,   // lanes, divides M
  parameter int unsigned SIMD            = 1,   // multipliers per lane, 1 .. K
  parameter int unsigned W_BITS          = 8,   // weight width (signed, symmetric), bits
  parameter int unsigned A_BITS          = 8,   // input activation width, bits
  parameter bit          A_SIGNED        = 0,   // input activations are signed
  parameter int unsigned ACC_BITS        = 24,  // accumulator width, bits
  parameter bit          ACT_SKIP        = 0,   // skip zero activations (needs STORE 2)
  parameter int unsigned STORE           = 2,   // weight layout: 0 dense, 1 sparse, 2 skip
  parameter int unsigned MAX_NNZ         = 1,   // skip: value slots per row (longest row)
  parameter int unsigned DEPTH           = 1,   // sparse: words per lane (longest lane)
  parameter bit          REQUANT         = 1,   // requantize (0: output raw accumulators)
  parameter int          SHIFT           = 0,   // requantization shift (SPEC section 1)
  parameter int unsigned THRESHOLD       = 0,   // ReLU threshold in output codes, < 2^31
  parameter bit          RUNTIME_REQUANT = 0,   // simulation: SHIFT, THRESHOLD from plusargs
  parameter int unsigned OUT_BITS        = 8,   // bits per output channel (ACC_BITS if !REQUANT)
  parameter int unsigned OUT_H           = 1,   // output rows (windows per column)
  parameter int unsigned OUT_W           = 1,   // output columns
  parameter int unsigned PX              = 1,   // slots: output pixels per group, divides OUT_W
`ifdef SYNTHESIS
  parameter              NAME            = "layer",  // memory file name prefix
`else
  parameter string       NAME            = "layer",  // run-time memory name prefix
`endif
  localparam int unsigned ROW_BITS = hws_pkg::idx_bits(OUT_H),
  localparam int unsigned COL_BITS = hws_pkg::idx_bits(OUT_W / PX)
) (
  input  wire logic                       clk_i,
  input  wire logic                       rst_ni,
  // frame handshake
  input  wire logic                       in_avail_i,   // the input buffer holds a frame
  input  wire logic                       out_free_i,   // the output buffer has a free bank
  output logic                            start_o,      // pulse: a frame starts this cycle
  output logic                            release_o,    // pulse: its input is no longer needed
  output logic                            done_o,       // pulse: a frame's output is complete
  // input vectors
  output logic                            m_win_req_o,
  output logic [ROW_BITS-1:0]             m_win_row_o,
  output logic [COL_BITS-1:0]             m_win_col_o,
  input  wire logic                       s_win_valid_i,
  input  wire logic [PX*FAN_IN*A_BITS-1:0] s_win_data_i,
  // output pixels
  output logic                            m_pix_valid_o,
  output logic [PX*M*OUT_BITS-1:0]        m_pix_data_o
);

  localparam int unsigned ROWS     = M / PE;
  localparam int unsigned COLS     = OUT_W / PX;  // groups per output row
  localparam int unsigned VEC_BITS = FAN_IN * A_BITS;
  localparam int unsigned LROW_BITS = hws_pkg::idx_bits(ROWS);
  localparam int unsigned GROUPS   = (FAN_IN + SIMD - 1) / SIMD;
  localparam int unsigned DENSE_ABITS = hws_pkg::idx_bits(ROWS * GROUPS);
  localparam int unsigned DENSE_WORDS = (STORE == 0) ? ROWS * GROUPS : 1;

`ifndef SYNTHESIS
  initial begin
    if (PE < 1 || M % PE != 0) $error("hws_engine %s: PE (%0d) must divide M (%0d)", NAME, PE, M);
    if (PX < 1 || OUT_W % PX != 0) begin
      $error("hws_engine %s: PX (%0d) must divide OUT_W (%0d)", NAME, PX, OUT_W);
    end
    if (!REQUANT && OUT_BITS != ACC_BITS) begin
      $error("hws_engine %s: without requantization OUT_BITS must equal ACC_BITS", NAME);
    end
  end
`endif

  // ---- requantization constants: the parameters, or plusargs read at time 0
  logic signed [31:0] rq_shift;      // used when RQ_RUNTIME
  logic        [31:0] rq_threshold;
`ifdef SYNTHESIS
  localparam bit RQ_RUNTIME = 1'b0;
  assign rq_shift     = '0;
  assign rq_threshold = '0;
`else
  localparam bit RQ_RUNTIME = RUNTIME_REQUANT;
  initial begin
    rq_shift     = '0;
    rq_threshold = '0;
    if (REQUANT && RUNTIME_REQUANT) begin : load_requant
      int shift, threshold;
      if (!$value$plusargs({NAME, "_shift=%d"}, shift) ||
          !$value$plusargs({NAME, "_threshold=%d"}, threshold)) begin
        $display("HWS_ERROR: missing requantization plusargs +%s_shift=<int> +%s_threshold=<int>",
                 NAME, NAME);
        $fatal(1, "hws_engine %s: missing requantization plusargs", NAME);
      end
      rq_shift     = shift;
      rq_threshold = threshold;
    end
  end
`endif

  // ---- group sequencer: fetches the frame's groups in order, one ahead of the slots
  logic                fetching_q;  // a frame's groups are being fetched (not yet released)
  logic [ROW_BITS-1:0] nxt_row_q;   // coordinates (row, column group) of the next to fetch
  logic [COL_BITS-1:0] nxt_col_q;
  logic                req_last, req_last_q;  // the group requested (last cycle) is the last
  logic                pf_valid_q, pf_last_q; // the prefetch register holds a group
  logic                ready, ready_last;     // a group can enter the slots this cycle
  logic                comp_q, cur_last_q;    // the slots hold a group (the frame's last)
  logic                swap, all_fin, vec_end;
  logic [PX*PE-1:0]    fin;                   // lane p of slot j at bit j*PE + p
  logic [PX*VEC_BITS-1:0] pf_q, win_q;

  assign all_fin    = &fin;
  assign ready      = pf_valid_q || s_win_valid_i;
  assign ready_last = pf_valid_q ? pf_last_q : req_last_q;
  assign swap       = ready && all_fin;
  assign release_o  = swap && ready_last;
  assign vec_end    = comp_q && all_fin;
  assign start_o    = (!fetching_q || release_o) && in_avail_i && out_free_i;

  assign m_win_req_o = start_o || (swap && !ready_last);
  assign m_win_row_o = start_o ? '0 : nxt_row_q;
  assign m_win_col_o = start_o ? '0 : nxt_col_q;
  assign req_last    = (m_win_row_o == ROW_BITS'(OUT_H - 1)) && (m_win_col_o == COL_BITS'(COLS - 1));

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      fetching_q <= 1'b0;
      nxt_row_q  <= '0;
      nxt_col_q  <= '0;
      req_last_q <= 1'b0;
      pf_valid_q <= 1'b0;
      pf_last_q  <= 1'b0;
      comp_q     <= 1'b0;
      cur_last_q <= 1'b0;
    end else begin
      if (start_o) fetching_q <= 1'b1;
      else if (release_o) fetching_q <= 1'b0;
      if (m_win_req_o) begin  // advance the fetch coordinates past the requested group
        req_last_q <= req_last;
        if (m_win_col_o == COL_BITS'(COLS - 1)) begin
          nxt_col_q <= '0;
          nxt_row_q <= m_win_row_o + 1'b1;
        end else begin
          nxt_col_q <= m_win_col_o + 1'b1;
          nxt_row_q <= m_win_row_o;
        end
      end
      // a requested group arrives one cycle later; it waits in pf_q unless it enters now
      pf_valid_q <= !swap && ready;
      if (!pf_valid_q) pf_last_q <= req_last_q;
      if (swap) begin
        comp_q     <= 1'b1;
        cur_last_q <= ready_last;
      end else if (all_fin) begin
        comp_q <= 1'b0;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (s_win_valid_i) pf_q <= s_win_data_i;
    if (swap) win_q <= pf_valid_q ? pf_q : s_win_data_i;
  end

  // ---- dense weights: one memory PE*SIMD*W_BITS wide, read in lockstep by every lane of
  // every slot (dense lanes are data-independent, so all slots run the same addresses)
  logic [PE*SIMD*W_BITS-1:0] dense_mem [DENSE_WORDS];
  logic [DENSE_ABITS-1:0]    dense_addr [PX*PE];
  logic [PE*SIMD*W_BITS-1:0] dense_word_q;  // dense_mem at the lanes' current word
`ifdef SYNTHESIS
  if (STORE == 0) begin : gen_dense_rom
    initial $readmemh({NAME, "_weight.mem"}, dense_mem);
  end
`else
  initial begin
    if (STORE == 0) begin : load_dense
      string path;
      path = hws_pkg::mem_path({NAME, "_weight"});
      hws_pkg::require_file(path, {NAME, " weights"});
      $readmemh(path, dense_mem);
    end
  end
`endif
  // synchronous read (block-RAM style): the lanes give the address of the next cycle's word
  always_ff @(posedge clk_i) dense_word_q <= dense_mem[(STORE == 0) ? dense_addr[0] : '0];

  // ---- slots of lanes, requantization and the output pixels; lane p of slot j is index
  // j*PE + p below
  logic [PX*PE-1:0]           res_valid;
  logic [LROW_BITS-1:0]       res_row [PX*PE];
  logic signed [ACC_BITS-1:0] res_acc [PX*PE];
  logic [OUT_BITS-1:0]        res_out [PX*PE];

  for (genvar j = 0; j < int'(PX); j++) begin : gen_slot
    for (genvar p = 0; p < int'(PE); p++) begin : gen_lane
      localparam int unsigned I = j * PE + p;
      hws_engine_lane #(
        .FAN_IN(FAN_IN), .ROWS(ROWS), .PE(PE), .LANE(p), .SIMD(SIMD), .W_BITS(W_BITS),
        .A_BITS(A_BITS), .A_SIGNED(A_SIGNED), .ACC_BITS(ACC_BITS), .ACT_SKIP(ACT_SKIP),
        .STORE(STORE), .MAX_NNZ(MAX_NNZ), .DEPTH(DEPTH), .NAME(NAME)
      ) u_lane (
        .clk_i, .rst_ni, .vec_start_i(swap), .win_i(win_q[j*VEC_BITS +: VEC_BITS]),
        .dense_addr_o(dense_addr[I]), .dense_w_i(dense_word_q[p*SIMD*W_BITS +: SIMD*W_BITS]),
        .fin_o(fin[I]), .res_valid_o(res_valid[I]), .res_row_o(res_row[I]),
        .res_acc_o(res_acc[I])
      );
      if (REQUANT) begin : gen_requant
        hws_requant #(
          .ACC_BITS(ACC_BITS), .OUT_BITS(OUT_BITS), .SHIFT(SHIFT), .THRESHOLD(THRESHOLD),
          .RUNTIME(RQ_RUNTIME)
        ) u_requant (
          .acc_i(res_acc[I]), .shift_i(rq_shift), .threshold_i(rq_threshold), .y_o(res_out[I])
        );
      end else begin : gen_raw
        assign res_out[I] = OUT_BITS'(res_acc[I]);
      end
    end
  end

  logic [PX*M*OUT_BITS-1:0] out_pix_q;
  logic [3:0]               vend_q;  // group-end pulses travelling down the lane pipeline
  logic [4:0]               fend_q;  // the same for the frame's last group

  // lane p's local row r is channel r * PE + p of its slot's pixel: constant slices, no
  // address arithmetic
  always_ff @(posedge clk_i) begin
    for (int j = 0; j < int'(PX); j++) begin
      for (int p = 0; p < int'(PE); p++) begin
        for (int r = 0; r < int'(ROWS); r++) begin
          if (res_valid[j * PE + p] && res_row[j * PE + p] == LROW_BITS'(r)) begin
            out_pix_q[(j * M + r * PE + p) * OUT_BITS +: OUT_BITS] <= res_out[j * PE + p];
          end
        end
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      vend_q <= '0;
      fend_q <= '0;
    end else begin
      vend_q <= {vend_q[2:0], vec_end};
      fend_q <= {fend_q[3:0], vec_end && cur_last_q};
    end
  end

  assign done_o        = fend_q[4];
  assign m_pix_valid_o = vend_q[3];
  assign m_pix_data_o  = out_pix_q;

endmodule

`default_nettype wire
