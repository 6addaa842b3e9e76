// hws_engine_lane: one PE lane of the sparse matrix-vector layer engine (SPEC sections 3, 6).
//
// The lane owns rows o = r * PE + LANE, r = 0 .. ROWS-1, of the weight matrix W (M x FAN_IN).
// For each input vector (vec_start_i; the vector is in win_i from the next cycle on) it walks
// its rows in order; the work of a row is the set of columns k with W[o, k] != 0 and, when
// ACT_SKIP, x[k] != 0, and each cycle it multiplies SIMD (weight, activation) pairs of it and
// adds them to the row's accumulator, which starts from the bias. A row costs
// max(1, ceil(n / SIMD)) cycles; an empty row still takes one cycle and yields its bias. fin_o
// says the lane is done with the vector by the end of the current cycle, so the lane time is
// L = sum over its rows of max(1, ceil(n / SIMD)).
//
// Weight layouts (STORE, SPEC section 6), all loaded at time 0 from <NAME>_weight (hws_pkg):
//   0 dense (lockstep, no zero weights, no activation skipping): the engine holds one memory
//     PE*SIMD*W_BITS wide, (M/PE)*ceil(K/SIMD) deep, and all lanes read the same word; the
//     engine reads it synchronously at dense_addr_o (the word of the next cycle) and this
//     lane gets its SIMD weights of the current word on dense_w_i. Row cost ceil(K/SIMD).
//   1 sparse (zero weights, no activation skipping): this lane's memory holds DEPTH words of
//     SIMD (value, column index) pairs plus a last-of-row bit, rows back to back,
//     max(1, ceil(z_o/SIMD)) words per row; one word per cycle.
//   2 skip (activation skipping): one word per row holding its nonzero values (MAX_NNZ slots)
//     and a FAN_IN-bit nonzero mask; each cycle the next SIMD set bits of mask & (x != 0) are
//     taken by a priority chain, and a value's slot is the number of mask bits below it.
// Biases: this lane's rows of <NAME>_bias.
// Every memory is read synchronously (registered address, block-RAM style, SPEC section 6).
// Synthesis (SYNTHESIS defined): the memories are ROMs initialised from this lane's own files
// <NAME>_weight_lane<LLL>.mem and <NAME>_bias_lane<LLL>.mem (LLL: LANE in 3 decimal digits,
// written by rtl/synth.py) in the working directory; the parameter checks are left out.
//
// Pipeline: cycle c selects (registered), c+1 multiplies (registered), c+2 sums the SIMD
// products in an adder tree and accumulates; the finished row's accumulator is on res_acc_o
// with res_valid_o in cycle c+3 when c was the row's last cycle. Latency: 3 cycles from a
// row's last cycle to its result. Throughput: SIMD products per cycle. Backpressure: none.
`default_nettype none

module hws_engine_lane #(
  parameter int unsigned FAN_IN   = 8,   // K: elements per input vector
  parameter int unsigned ROWS     = 1,   // rows owned by this lane, M / PE
  parameter int unsigned PE       = 1,   // lanes of the engine
  parameter int unsigned LANE     = 0,   // index of this lane, < PE
  parameter int unsigned SIMD     = 1,   // work items (multipliers) per cycle, 1 .. FAN_IN
  parameter int unsigned W_BITS   = 8,   // weight width (signed, symmetric), bits
  parameter int unsigned A_BITS   = 8,   // input activation width, bits
  parameter bit          A_SIGNED = 0,   // input activations are signed (the network input)
  parameter int unsigned ACC_BITS = 24,  // accumulator width (never overflows), bits
  parameter bit          ACT_SKIP = 0,   // also skip zero activations (needs STORE 2)
  parameter int unsigned STORE    = 2,   // weight layout: 0 dense, 1 sparse, 2 skip
  parameter int unsigned MAX_NNZ  = 1,   // skip: value slots per row word (longest row), >= 1
  parameter int unsigned DEPTH    = 1,   // sparse: words per lane memory (longest lane), >= 1
`ifdef SYNTHESIS
  parameter              NAME     = "layer",  // memory file name prefix
`else
  parameter string       NAME     = "layer",  // memories: <NAME>_weight, <NAME>_bias
`endif
  localparam int unsigned ROW_BITS    = hws_pkg::idx_bits(ROWS),
  localparam int unsigned GROUPS      = (FAN_IN + SIMD - 1) / SIMD,  // dense words per row
  localparam int unsigned DENSE_ABITS = hws_pkg::idx_bits(ROWS * GROUPS)
) (
  input  wire logic                       clk_i,
  input  wire logic                       rst_ni,
  input  wire logic                       vec_start_i,  // start row 0 in the next cycle
  input  wire logic [FAN_IN*A_BITS-1:0]   win_i,        // the vector, stable while computing
  output logic [DENSE_ABITS-1:0]          dense_addr_o, // dense: next cycle's word
  input  wire logic [SIMD*W_BITS-1:0]     dense_w_i,    // dense: this lane's weights in it
  output logic                            fin_o,        // no row left after this cycle
  output logic                            res_valid_o,
  output logic [ROW_BITS-1:0]             res_row_o,    // local row r (global o = r*PE + LANE)
  output logic signed [ACC_BITS-1:0]      res_acc_o
);

  localparam int unsigned M           = ROWS * PE;
  localparam int unsigned IDX_BITS    = hws_pkg::idx_bits(FAN_IN);
  localparam int unsigned PAIR_BITS   = W_BITS + IDX_BITS;
  localparam int unsigned SPARSE_BITS = 1 + SIMD * PAIR_BITS;
  localparam int unsigned SKIP_BITS   = MAX_NNZ * W_BITS + FAN_IN;
  localparam int unsigned SKIP_ROWS   = (STORE == 2) ? ROWS : 1;
  localparam int unsigned SPARSE_WORDS = (STORE == 1) ? DEPTH : 1;
  localparam int unsigned PTR_BITS    = (STORE == 0) ? DENSE_ABITS : hws_pkg::idx_bits(SPARSE_WORDS);
  localparam int unsigned G_BITS      = hws_pkg::idx_bits(GROUPS);
  localparam int unsigned SLOT_BITS   = hws_pkg::idx_bits(MAX_NNZ + 1);

`ifndef SYNTHESIS
  initial begin
    if (SIMD < 1 || SIMD > FAN_IN) begin
      $error("hws_engine_lane: SIMD (%0d) must be 1 .. FAN_IN (%0d)", SIMD, FAN_IN);
    end
    if (LANE >= PE || ROWS < 1) $error("hws_engine_lane: need LANE < PE and ROWS >= 1");
    if (W_BITS < 2 || A_BITS < 1 || ACC_BITS < W_BITS + A_BITS) begin
      $error("hws_engine_lane: need W_BITS >= 2, A_BITS >= 1, ACC_BITS >= W_BITS + A_BITS");
    end
    if (STORE > 2 || (ACT_SKIP && STORE != 2)) begin
      $error("hws_engine_lane: STORE must be 0, 1 or 2, and 2 when ACT_SKIP");
    end
    if (MAX_NNZ < 1 || MAX_NNZ > FAN_IN || DEPTH < 1) begin
      $error("hws_engine_lane: need 1 <= MAX_NNZ <= FAN_IN and DEPTH >= 1");
    end
  end
`endif

  // ---- run-time memories: this lane's part of the engine's weight and bias files
  logic [SKIP_BITS-1:0]       skip_mem [SKIP_ROWS];
  logic [SPARSE_BITS-1:0]     sparse_mem [SPARSE_WORDS];
  logic signed [ACC_BITS-1:0] b_mem [ROWS];

`ifdef SYNTHESIS
  localparam LANE_TAG = {8'd48 + 8'(LANE / 100 % 10), 8'd48 + 8'(LANE / 10 % 10),
                         8'd48 + 8'(LANE % 10)};
  if (STORE == 2) begin : gen_skip_rom
    initial $readmemh({NAME, "_weight_lane", LANE_TAG, ".mem"}, skip_mem);
  end
  if (STORE == 1) begin : gen_sparse_rom
    initial $readmemh({NAME, "_weight_lane", LANE_TAG, ".mem"}, sparse_mem);
  end
  initial $readmemh({NAME, "_bias_lane", LANE_TAG, ".mem"}, b_mem);
`else
  initial begin : load_memories
    logic [SKIP_BITS-1:0]   skip_all [(STORE == 2) ? M : 1];
    logic [SPARSE_BITS-1:0] sparse_all [(STORE == 1) ? PE * DEPTH : 1];
    logic [ACC_BITS-1:0]    b_all [M];
    string w_path, b_path;
    w_path = hws_pkg::mem_path({NAME, "_weight"});
    b_path = hws_pkg::mem_path({NAME, "_bias"});
    if (STORE != 0) hws_pkg::require_file(w_path, {NAME, " weights"});
    hws_pkg::require_file(b_path, {NAME, " biases"});
    if (STORE == 2) begin
      $readmemh(w_path, skip_all);
      for (int r = 0; r < int'(ROWS); r++) skip_mem[r] = skip_all[r * PE + LANE];
    end
    if (STORE == 1) begin
      $readmemh(w_path, sparse_all);
      for (int i = 0; i < int'(DEPTH); i++) sparse_mem[i] = sparse_all[LANE * DEPTH + i];
    end
    $readmemh(b_path, b_all);
    for (int r = 0; r < int'(ROWS); r++) b_mem[r] = b_all[r * PE + LANE];
  end
`endif

  // ---- cycle c: selection of SIMD (weight, activation) pairs of the current row
  logic                     busy_q, first_q;
  logic [ROW_BITS-1:0]      row_q, row_d;
  logic [FAN_IN-1:0]        rem_q, rem_next;  // skip: remaining work of the row
  logic [PTR_BITS-1:0]      ptr_q, ptr_d;     // dense, sparse: current word (cycles of work)
  logic [G_BITS-1:0]        g_q;              // dense: current column group
  logic                     row_end;
  logic [W_BITS-1:0]        sel_w [SIMD];
  logic [A_BITS-1:0]        sel_x [SIMD];

  // Memories are read synchronously (block-RAM style): the address of the next cycle's word
  // (ptr_d, row_d) is registered inside the read, so the word register equals mem[ptr_q]
  // (mem[row_q]) in every cycle, as a combinational read of the current address would.
  logic [SPARSE_BITS-1:0] sparse_q;
  logic [SKIP_BITS-1:0]   skip_q;

  assign ptr_d = vec_start_i ? '0 : busy_q ? ptr_q + 1'b1 : ptr_q;
  assign row_d = vec_start_i ? '0
               : (busy_q && row_end && row_q != ROW_BITS'(ROWS - 1)) ? row_q + 1'b1 : row_q;
  assign dense_addr_o = DENSE_ABITS'(ptr_d);  // the dense word is one per cycle of work

  always_ff @(posedge clk_i) begin
    sparse_q <= sparse_mem[(STORE == 1) ? ptr_d : '0];
    skip_q   <= skip_mem[(STORE == 2) ? row_d : '0];
  end

  always_comb begin
    for (int j = 0; j < int'(SIMD); j++) begin
      sel_w[j] = '0;
      sel_x[j] = '0;
    end
    rem_next = '0;
    row_end  = 1'b0;
    if (STORE == 0) begin : dense
      for (int j = 0; j < int'(SIMD); j++) begin
        int unsigned col;
        // (one group: the column is a constant, which synthesis cannot infer from g_q)
        col = (GROUPS == 1) ? j : int'(g_q) * SIMD + j;
        sel_w[j] = dense_w_i[j*W_BITS +: W_BITS];
        if (col < FAN_IN) sel_x[j] = win_i[col*A_BITS +: A_BITS];
      end
      row_end = busy_q && (g_q == G_BITS'(GROUPS - 1));
    end else if (STORE == 1) begin : sparse
      logic [SPARSE_BITS-1:0] word;
      word = sparse_q;
      for (int j = 0; j < int'(SIMD); j++) begin
        logic [PAIR_BITS-1:0] pair;
        int unsigned col;
        pair = word[1 + j*PAIR_BITS +: PAIR_BITS];
        col = int'(pair[W_BITS +: IDX_BITS]);
        sel_w[j] = pair[W_BITS-1:0];
        if (col < FAN_IN) sel_x[j] = win_i[col*A_BITS +: A_BITS];
      end
      row_end = busy_q && word[0];
    end else begin : skip
      logic [SKIP_BITS-1:0] word;
      logic [FAN_IN-1:0]    mask, work;
      int unsigned taken, slot;
      word = skip_q;
      mask = word[MAX_NNZ*W_BITS +: FAN_IN];
      for (int k = 0; k < int'(FAN_IN); k++) begin
        work[k] = mask[k] && (!ACT_SKIP || (win_i[k*A_BITS +: A_BITS] != '0));
      end
      if (!first_q) work = rem_q;
      rem_next = work;
      taken = 0;
      slot = 0;  // value slot of column k: mask bits below k
      for (int k = 0; k < int'(FAN_IN); k++) begin
        if (work[k] && taken < SIMD) begin
          sel_w[taken[$clog2(SIMD+1)-1:0]] = word[slot[SLOT_BITS-1:0]*W_BITS +: W_BITS];
          sel_x[taken[$clog2(SIMD+1)-1:0]] = win_i[k*A_BITS +: A_BITS];
          rem_next[k] = 1'b0;
          taken++;
        end
        if (mask[k]) slot++;
      end
      row_end = busy_q && (rem_next == '0);
    end
  end

  assign fin_o = !busy_q || (row_end && row_q == ROW_BITS'(ROWS - 1));

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_q  <= 1'b0;
      first_q <= 1'b0;
      row_q   <= '0;
      rem_q   <= '0;
      ptr_q   <= '0;
      g_q     <= '0;
    end else begin
      row_q <= row_d;
      ptr_q <= ptr_d;
      if (vec_start_i) begin
        busy_q  <= 1'b1;
        first_q <= 1'b1;
        g_q     <= '0;
      end else if (busy_q) begin
        rem_q   <= rem_next;
        first_q <= row_end;
        g_q     <= row_end ? '0 : g_q + 1'b1;
        if (row_end && row_q == ROW_BITS'(ROWS - 1)) busy_q <= 1'b0;
      end
    end
  end

  // ---- cycle c+1: SIMD multipliers
  logic                s1_valid_q, s1_first_q, s1_last_q;
  logic [ROW_BITS-1:0] s1_row_q;
  logic [W_BITS-1:0]   s1_w_q [SIMD];
  logic [A_BITS-1:0]   s1_x_q [SIMD];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) s1_valid_q <= 1'b0;
    else s1_valid_q <= busy_q;
  end
  always_ff @(posedge clk_i) begin
    s1_first_q <= first_q;
    s1_last_q  <= row_end;
    s1_row_q   <= row_q;
    s1_w_q     <= sel_w;
    s1_x_q     <= sel_x;
  end

  // ---- cycle c+2: adder tree and accumulator
  logic                       s2_valid_q, s2_first_q, s2_last_q;
  logic [ROW_BITS-1:0]        s2_row_q;
  logic signed [ACC_BITS-1:0] s2_prod_q [SIMD];
  logic signed [ACC_BITS-1:0] s2_bias_q;  // b_mem[s2_row_q], read synchronously

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) s2_valid_q <= 1'b0;
    else s2_valid_q <= s1_valid_q;
  end
  always_ff @(posedge clk_i) begin
    s2_first_q <= s1_first_q;
    s2_last_q  <= s1_last_q;
    s2_row_q   <= s1_row_q;
    s2_bias_q  <= b_mem[s1_row_q];
    for (int j = 0; j < int'(SIMD); j++) begin
      logic signed [ACC_BITS-1:0] w_ext, x_ext;
      w_ext = ACC_BITS'($signed(s1_w_q[j]));
      x_ext = A_SIGNED ? ACC_BITS'($signed(s1_x_q[j])) : ACC_BITS'($unsigned(s1_x_q[j]));
      s2_prod_q[j] <= w_ext * x_ext;
    end
  end

  logic signed [ACC_BITS-1:0] acc_q, acc_next;
  always_comb begin
    logic signed [ACC_BITS-1:0] sum;
    sum = '0;
    for (int j = 0; j < int'(SIMD); j++) sum = sum + s2_prod_q[j];
    acc_next = (s2_first_q ? s2_bias_q : acc_q) + sum;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      acc_q       <= '0;
      res_valid_o <= 1'b0;
      res_row_o   <= '0;
      res_acc_o   <= '0;
    end else begin
      res_valid_o <= s2_valid_q && s2_last_q;
      if (s2_valid_q) acc_q <= acc_next;
      if (s2_valid_q && s2_last_q) begin
        res_row_o <= s2_row_q;
        res_acc_o <= acc_next;
      end
    end
  end

endmodule

`default_nettype wire
