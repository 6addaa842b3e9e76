// hws_window_buffer: multi-bank frame buffer banked for window reads (the conv window unit).
//
// Feeds a conv2d or max-pool stage that reads READ_PX windows per cycle, from a producer that
// writes WRITE_PX pixels per cycle. The frame (CHANNELS x HEIGHT x WIDTH, one word per pixel
// holding all channels) is stored in KERNEL x KC banks, KC = max(WRITE_PX, (READ_PX - 1) *
// STRIDE + KERNEL): pixel (r, c) lives in bank (r mod K, c mod KC) at address
// (r div K) * WB + (c div KC), WB = ceil(WIDTH / KC), so a bank is BANKS * ceil(HEIGHT / K) * WB
// words deep with all BANKS frames (2: ping-pong, 3: triple-buffered; SPEC sections 4 and 6). A group of READ_PX windows spans K
// rows and (READ_PX - 1) * STRIDE + K <= KC columns, and a write beat WRITE_PX <= KC columns,
// so each touches each bank at most once: a whole group (all channels) is read, and a whole
// beat written, in one cycle (SPEC section 2, "Windows"); positions in the zero padding are
// not stored.
//
// Write side: WRITE_PX consecutive pixels of one row per beat (s_pix_valid_i; pixel j at bits
// [j*PIX_BITS +: PIX_BITS]), beats in row-major order; addresses are counted here and restart
// after prod_done_i. Read side: a request for group (rd_row_i, rd_col_i) (output row, group of
// READ_PX output columns) in cycle c returns its windows in cycle c + 1: window j at bits
// [j*WIN_BITS +: WIN_BITS] of rd_data_o holds element (kh, kw) at
// [(kh*K + kw)*PIX_BITS +: PIX_BITS], channel ch of it at [ch*BITS +: BITS] inside that, i.e.
// the vector is ordered (kh, kw, cin); positions in the zero padding read as 0. The top-left
// input pixel of window j is (rd_row_i*STRIDE - PADDING, (rd_col_i*READ_PX + j)*STRIDE -
// PADDING). With WRITE_PX = READ_PX = 1 this is the K x K banking of one window per cycle.
// Latency: 1 cycle (registered bank reads, then a combinational rotation and padding mux).
// Throughput: one group per cycle. Backpressure: none (see hws_pingpong).
`default_nettype none

module hws_window_buffer #(
  parameter int unsigned CHANNELS = 1,  // channels per pixel
  parameter int unsigned BITS     = 8,  // bits per activation
  parameter int unsigned HEIGHT   = 8,  // frame rows
  parameter int unsigned WIDTH    = 8,  // frame columns
  parameter int unsigned KERNEL   = 3,  // window side (pixels)
  parameter int unsigned STRIDE   = 1,  // window step (pixels)
  parameter int unsigned PADDING  = 0,  // zero border (pixels), < KERNEL
  parameter int unsigned HANDOFF  = 1,  // cycles from producer done to consumer start, >= 1
  parameter int unsigned WRITE_PX = 1,  // pixels per write beat, divides WIDTH
  parameter int unsigned READ_PX  = 1,  // windows per read, divides the output width
  parameter int unsigned BANKS    = 2,  // frames held (hws_pingpong), 2 or 3
  localparam int unsigned PIX_BITS = CHANNELS * BITS,
  localparam int unsigned OUT_H    = (HEIGHT + 2 * PADDING - KERNEL) / STRIDE + 1,
  localparam int unsigned OUT_W    = (WIDTH + 2 * PADDING - KERNEL) / STRIDE + 1,
  localparam int unsigned COLS     = OUT_W / READ_PX,  // window groups per output row
  localparam int unsigned ROW_BITS = hws_pkg::idx_bits(OUT_H),
  localparam int unsigned COL_BITS = hws_pkg::idx_bits(COLS),
  localparam int unsigned WIN_BITS = KERNEL * KERNEL * PIX_BITS
) (
  input  wire logic                         clk_i,
  input  wire logic                         rst_ni,
  // producer
  input  wire logic                         prod_start_i,
  input  wire logic                         s_pix_valid_i,
  input  wire logic [WRITE_PX*PIX_BITS-1:0] s_pix_data_i,
  input  wire logic                         prod_done_i,
  output logic                              wr_free_o,
  // consumer
  input  wire logic                         rd_req_i,
  input  wire logic [ROW_BITS-1:0]          rd_row_i,
  input  wire logic [COL_BITS-1:0]          rd_col_i,
  output logic                              rd_valid_o,
  output logic [READ_PX*WIN_BITS-1:0]       rd_data_o,
  input  wire logic                         cons_done_i,
  output logic                              rd_avail_o
);

  localparam int unsigned SPAN  = (READ_PX - 1) * STRIDE + KERNEL;  // columns of a group
  localparam int unsigned KC    = (WRITE_PX > SPAN) ? WRITE_PX : SPAN;  // bank columns
  localparam int unsigned HB    = (HEIGHT + KERNEL - 1) / KERNEL;  // bank rows
  localparam int unsigned WB    = (WIDTH + KC - 1) / KC;           // words per row per bank
  localparam int unsigned DEPTH = HB * WB;  // words per bank per frame
  localparam int unsigned ADDR_BITS = hws_pkg::idx_bits(BANKS * DEPTH);
  localparam int unsigned BANK_BITS = hws_pkg::idx_bits(BANKS);

`ifndef SYNTHESIS
  initial begin
    if (CHANNELS < 1 || BITS < 1 || HEIGHT < 1 || WIDTH < 1 || KERNEL < 1 || STRIDE < 1) begin
      $error("hws_window_buffer: CHANNELS, BITS, HEIGHT, WIDTH, KERNEL, STRIDE must be >= 1");
    end
    if (PADDING >= KERNEL) $error("hws_window_buffer: PADDING (%0d) must be < KERNEL (%0d)",
                                  PADDING, KERNEL);
    if (HEIGHT + 2 * PADDING < KERNEL || WIDTH + 2 * PADDING < KERNEL) begin
      $error("hws_window_buffer: the padded frame is smaller than the window");
    end
    if (WRITE_PX < 1 || WIDTH % WRITE_PX != 0) begin
      $error("hws_window_buffer: WRITE_PX (%0d) must divide WIDTH (%0d)", WRITE_PX, WIDTH);
    end
    if (READ_PX < 1 || OUT_W % READ_PX != 0) begin
      $error("hws_window_buffer: READ_PX (%0d) must divide the output width (%0d)", READ_PX,
             OUT_W);
    end
  end
`endif

  logic [BANK_BITS-1:0] wr_bank, rd_bank;
  hws_pingpong #(.HANDOFF(HANDOFF), .BANKS(BANKS)) u_pingpong (
    .clk_i, .rst_ni, .prod_start_i, .prod_done_i, .cons_done_i,
    .wr_bank_o(wr_bank), .rd_bank_o(rd_bank), .wr_free_o, .rd_avail_o
  );

  // First address of frame bank `b` in every memory bank: b * DEPTH, as a select of constants.
  function automatic logic [ADDR_BITS-1:0] frame_base(input logic [BANK_BITS-1:0] b);
    frame_base = '0;
    for (int f = 1; f < int'(BANKS); f++) begin
      if (b == BANK_BITS'(f)) frame_base = ADDR_BITS'(f * DEPTH);
    end
  endfunction

  // Bank coordinates of frame row (column) x for bank row (column) `b`, and of window
  // positions, are functions of constants only: every division and remainder by KERNEL or KC
  // below is evaluated at elaboration (tables over the output rows and column groups, or
  // counters), so synthesis builds no divider or multiplier for the addresses.

  // The frame row (column) in bank row (column) `b` (of `banks`) among the `banks` padded
  // coordinates from `start` on, minus the padding; 0 for a position in the zero padding.
  function automatic int unsigned bank_coord(input int unsigned start, input int unsigned b,
                                             input int unsigned size, input int unsigned banks);
    int unsigned padded;
    padded = start + (b + PADDING + banks - start % banks) % banks;
    bank_coord = (padded >= PADDING && padded < size + PADDING) ? padded - PADDING : 0;
  endfunction

  // ---- write address: (row, col) of the beat's first pixel as counters of (row div K, row
  // mod K, col div KC, col mod KC), restarted by a done pulse; pixel j of the beat is column
  // col + j, in bank column (col mod KC + j) mod KC (WRITE_PX <= KC: one wrap at most)
  localparam int unsigned KM_BITS = hws_pkg::idx_bits(KERNEL);
  localparam int unsigned CM_BITS = hws_pkg::idx_bits(KC + WRITE_PX);
  localparam int unsigned WC_BITS = hws_pkg::idx_bits(WIDTH);
  logic [WC_BITS-1:0]   wr_c_q, wr_c;            // column of the beat's first pixel
  logic [KM_BITS-1:0]   wr_rm_q, wr_rm;          // row mod K
  logic [CM_BITS-1:0]   wr_cm_q, wr_cm;          // column mod KC
  logic [ADDR_BITS-1:0] wr_rbase_q, wr_rbase;    // (row div K) * WB
  logic [ADDR_BITS-1:0] wr_cd_q, wr_cd;          // column div KC
  logic [CM_BITS-1:0]   wr_cm_next;              // column mod KC of the next beat, unwrapped
  logic [CM_BITS-1:0]   pix_cm [WRITE_PX];       // bank column of pixel j
  logic [ADDR_BITS-1:0] pix_addr [WRITE_PX];     // address of pixel j inside its bank

  always_comb begin
    wr_c     = prod_done_i ? '0 : wr_c_q;
    wr_rm    = prod_done_i ? '0 : wr_rm_q;
    wr_cm    = prod_done_i ? '0 : wr_cm_q;
    wr_rbase = prod_done_i ? '0 : wr_rbase_q;
    wr_cd    = prod_done_i ? '0 : wr_cd_q;
    wr_cm_next = wr_cm + CM_BITS'(WRITE_PX);
    for (int j = 0; j < int'(WRITE_PX); j++) begin
      logic [CM_BITS-1:0] cm;
      cm = wr_cm + CM_BITS'(j);
      pix_cm[j]   = (cm >= CM_BITS'(KC)) ? cm - CM_BITS'(KC) : cm;
      pix_addr[j] = frame_base(wr_bank) + wr_rbase + wr_cd
                  + ((cm >= CM_BITS'(KC)) ? ADDR_BITS'(1) : '0);
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_c_q     <= '0;
      wr_rm_q    <= '0;
      wr_cm_q    <= '0;
      wr_rbase_q <= '0;
      wr_cd_q    <= '0;
    end else if (s_pix_valid_i && wr_c == WC_BITS'(WIDTH - WRITE_PX)) begin  // next row
      wr_c_q     <= '0;
      wr_cm_q    <= '0;
      wr_cd_q    <= '0;
      wr_rm_q    <= (wr_rm == KM_BITS'(KERNEL - 1)) ? '0 : wr_rm + 1'b1;
      wr_rbase_q <= (wr_rm == KM_BITS'(KERNEL - 1)) ? wr_rbase + ADDR_BITS'(WB) : wr_rbase;
    end else if (s_pix_valid_i) begin  // next beat of the row
      wr_c_q     <= wr_c + WC_BITS'(WRITE_PX);
      wr_cm_q    <= (wr_cm_next >= CM_BITS'(KC)) ? wr_cm_next - CM_BITS'(KC) : wr_cm_next;
      wr_cd_q    <= (wr_cm_next >= CM_BITS'(KC)) ? wr_cd + 1'b1 : wr_cd;
      wr_rm_q    <= wr_rm;
      wr_rbase_q <= wr_rbase;
    end else begin
      wr_c_q     <= wr_c;
      wr_rm_q    <= wr_rm;
      wr_cm_q    <= wr_cm;
      wr_rbase_q <= wr_rbase;
      wr_cd_q    <= wr_cd;
    end
  end

  // ---- read: every bank serves the one position of the group that falls in it
  logic [PIX_BITS-1:0] bank_q [KERNEL * KC];

  for (genvar i = 0; i < int'(KERNEL); i++) begin : gen_bank_row
    for (genvar b = 0; b < int'(KC); b++) begin : gen_bank_col
      logic [PIX_BITS-1:0]  mem [BANKS * DEPTH];
      logic [ADDR_BITS-1:0] rd_rbase, rd_cd, rd_addr;
      logic                 wr_en;
      logic [ADDR_BITS-1:0] wr_addr;
      logic [PIX_BITS-1:0]  wr_data;
      always_comb begin
        // (frame row in bank row i) div K * WB, and (frame column in bank column b) div KC,
        // looked up by output row and column group
        rd_rbase = '0;
        rd_cd = '0;
        for (int y = 0; y < int'(OUT_H); y++) begin
          if (rd_row_i == ROW_BITS'(y)) begin
            rd_rbase = ADDR_BITS'(bank_coord(y * STRIDE, i, HEIGHT, KERNEL) / KERNEL * WB);
          end
        end
        for (int x = 0; x < int'(COLS); x++) begin
          if (rd_col_i == COL_BITS'(x)) begin
            rd_cd = ADDR_BITS'(bank_coord(x * READ_PX * STRIDE, b, WIDTH, KC) / KC);
          end
        end
        rd_addr = frame_base(rd_bank) + rd_rbase + rd_cd;
        // the beat's pixel that falls in this bank, if any (address and data default to pixel
        // 0's: they matter only with wr_en, and a constant default would cost a gate per bit)
        wr_en = 1'b0;
        wr_addr = pix_addr[0];
        wr_data = s_pix_data_i[0 +: PIX_BITS];
        for (int j = 0; j < int'(WRITE_PX); j++) begin
          if (s_pix_valid_i && wr_rm == KM_BITS'(i) && pix_cm[j] == CM_BITS'(b)) begin
            wr_en = 1'b1;
            wr_addr = pix_addr[j];
            wr_data = s_pix_data_i[j * PIX_BITS +: PIX_BITS];
          end
        end
      end
      always_ff @(posedge clk_i) begin
        if (wr_en) mem[wr_addr] <= wr_data;
        if (rd_req_i) bank_q[i * KC + b] <= mem[rd_addr];
      end
    end
  end

  // ---- window order: tap (kh, kw) of window j is in bank ((r0 + kh - PADDING) mod K,
  // (c0_j + kw - PADDING) mod KC) unless it is in the zero padding. Both are looked up at the
  // request and registered one-hot (all zero in the padding), so the rotation is a K:1 and a
  // KC:1 AND-OR select per tap bit (a bank row, then a bank column) and the padding costs
  // nothing.
  logic [KERNEL-1:0] tap_row_q [KERNEL];           // one-hot bank row of tap row kh
  logic [KC-1:0]     tap_col_q [READ_PX][KERNEL];  // one-hot bank column of window j, tap kw

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) rd_valid_o <= 1'b0;
    else rd_valid_o <= rd_req_i;
  end

  always_ff @(posedge clk_i) begin
    if (rd_req_i) begin
      for (int k = 0; k < int'(KERNEL); k++) begin
        for (int y = 0; y < int'(OUT_H); y++) begin
          if (rd_row_i == ROW_BITS'(y)) begin
            tap_row_q[k] <= (y * STRIDE + k < PADDING || y * STRIDE + k >= HEIGHT + PADDING)
                ? '0 : KERNEL'(1) << ((y * STRIDE + k + KERNEL - PADDING) % KERNEL);
          end
        end
        for (int x = 0; x < int'(COLS); x++) begin
          if (rd_col_i == COL_BITS'(x)) begin
            for (int j = 0; j < int'(READ_PX); j++) begin
              int unsigned pc;  // padded column of tap kw of window j
              pc = (x * READ_PX + j) * STRIDE + k;
              tap_col_q[j][k] <= (pc < PADDING || pc >= WIDTH + PADDING)
                  ? '0 : KC'(1) << ((pc + KC - PADDING) % KC);
            end
          end
        end
      end
    end
  end

  always_comb begin
    logic [PIX_BITS-1:0] row_word [KERNEL][KC];  // [kh][bank column]
    for (int kh = 0; kh < int'(KERNEL); kh++) begin
      for (int b = 0; b < int'(KC); b++) begin
        row_word[kh][b] = '0;
        for (int a = 0; a < int'(KERNEL); a++) begin
          row_word[kh][b] = row_word[kh][b] | ({PIX_BITS{tap_row_q[kh][a]}} & bank_q[a * KC + b]);
        end
      end
    end
    for (int j = 0; j < int'(READ_PX); j++) begin
      for (int kh = 0; kh < int'(KERNEL); kh++) begin
        for (int kw = 0; kw < int'(KERNEL); kw++) begin
          logic [PIX_BITS-1:0] word;
          word = '0;
          for (int b = 0; b < int'(KC); b++) begin
            word = word | ({PIX_BITS{tap_col_q[j][kw][b]}} & row_word[kh][b]);
          end
          rd_data_o[j * WIN_BITS + (kh * KERNEL + kw) * PIX_BITS +: PIX_BITS] = word;
        end
      end
    end
  end

endmodule

`default_nettype wire
