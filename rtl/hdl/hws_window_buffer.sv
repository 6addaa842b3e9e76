// hws_window_buffer: ping-pong frame buffer banked for window reads (the conv window unit).
//
// Feeds a conv2d or max-pool stage. The frame (CHANNELS x HEIGHT x WIDTH, one word per pixel
// holding all channels) is stored in KERNEL*KERNEL banks: pixel (r, c) lives in bank
// (r mod K, c mod K) at address (r div K) * WB + (c div K), WB = ceil(WIDTH / K), so a bank is
// 2 * ceil(HEIGHT / K) * WB words deep with both ping-pong halves (SPEC section 6). Any K x K
// window touches each bank at most once, so a whole window (all channels) is read in one
// cycle (SPEC section 2, "Windows"); window positions in the zero padding are not stored.
//
// Write side: one pixel per cycle in row-major order (s_pix_valid_i); addresses are counted
// here and restart after prod_done_i. Read side: a request for output pixel (rd_row_i,
// rd_col_i) in cycle c returns its window in cycle c + 1: rd_data_o holds window element
// (kh, kw) at bits [(kh*K + kw)*PIX_BITS +: PIX_BITS], channel ch of it at
// [ch*BITS +: BITS] inside that, i.e. the vector is ordered (kh, kw, cin); positions in the
// zero padding read as 0. The top-left input pixel of the window is
// (rd_row_i*STRIDE - PADDING, rd_col_i*STRIDE - PADDING).
// Latency: 1 cycle (registered bank reads, then a combinational rotation and padding mux).
// Throughput: one window per cycle. Backpressure: none (see hws_pingpong).
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
  localparam int unsigned PIX_BITS = CHANNELS * BITS,
  localparam int unsigned OUT_H    = (HEIGHT + 2 * PADDING - KERNEL) / STRIDE + 1,
  localparam int unsigned OUT_W    = (WIDTH + 2 * PADDING - KERNEL) / STRIDE + 1,
  localparam int unsigned ROW_BITS = hws_pkg::idx_bits(OUT_H),
  localparam int unsigned COL_BITS = hws_pkg::idx_bits(OUT_W),
  localparam int unsigned WIN_BITS = KERNEL * KERNEL * PIX_BITS
) (
  input  wire logic                clk_i,
  input  wire logic                rst_ni,
  // producer
  input  wire logic                prod_start_i,
  input  wire logic                s_pix_valid_i,
  input  wire logic [PIX_BITS-1:0] s_pix_data_i,
  input  wire logic                prod_done_i,
  output logic                     wr_free_o,
  // consumer
  input  wire logic                rd_req_i,
  input  wire logic [ROW_BITS-1:0] rd_row_i,
  input  wire logic [COL_BITS-1:0] rd_col_i,
  output logic                     rd_valid_o,
  output logic [WIN_BITS-1:0]      rd_data_o,
  input  wire logic                cons_done_i,
  output logic                     rd_avail_o
);

  localparam int unsigned HB    = (HEIGHT + KERNEL - 1) / KERNEL;  // bank rows
  localparam int unsigned WB    = (WIDTH + KERNEL - 1) / KERNEL;   // bank columns
  localparam int unsigned DEPTH = HB * WB;  // words per bank per ping-pong half
  localparam int unsigned NBANK = KERNEL * KERNEL;
  localparam int unsigned ADDR_BITS = hws_pkg::idx_bits(2 * DEPTH);

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
  end
`endif

  logic wr_bank, rd_bank;
  hws_pingpong #(.HANDOFF(HANDOFF)) u_pingpong (
    .clk_i, .rst_ni, .prod_start_i, .prod_done_i, .cons_done_i,
    .wr_bank_o(wr_bank), .rd_bank_o(rd_bank), .wr_free_o, .rd_avail_o
  );

  // Bank coordinates of frame row (column) x for bank row (column) `b`, and of window
  // positions, are functions of constants only: every division and remainder by KERNEL below
  // is evaluated at elaboration (tables over the output rows and columns, or counters), so
  // synthesis builds no divider or multiplier for the addresses.

  // The frame row (column) in bank row (column) `b` of the window whose top-left padded
  // coordinate is `start`, minus the padding; 0 for a position in the zero padding.
  function automatic int unsigned bank_coord(input int unsigned start, input int unsigned b,
                                             input int unsigned size);
    int unsigned padded;
    padded = start + (b + PADDING + KERNEL - start % KERNEL) % KERNEL;
    bank_coord = (padded >= PADDING && padded < size + PADDING) ? padded - PADDING : 0;
  endfunction

  // ---- write address: (row, col) of the next pixel as counters of (div K, mod K), restarted
  // by a done pulse
  localparam int unsigned KM_BITS = hws_pkg::idx_bits(KERNEL);
  localparam int unsigned WC_BITS = hws_pkg::idx_bits(WIDTH);
  logic [WC_BITS-1:0]   wr_c_q, wr_c;            // column
  logic [KM_BITS-1:0]   wr_rm_q, wr_rm;          // row mod K
  logic [KM_BITS-1:0]   wr_cm_q, wr_cm;          // column mod K
  logic [ADDR_BITS-1:0] wr_rbase_q, wr_rbase;    // (row div K) * WB
  logic [ADDR_BITS-1:0] wr_cd_q, wr_cd;          // column div K
  logic [ADDR_BITS-1:0] wr_addr;                 // address inside the bank written

  always_comb begin
    wr_c     = prod_done_i ? '0 : wr_c_q;
    wr_rm    = prod_done_i ? '0 : wr_rm_q;
    wr_cm    = prod_done_i ? '0 : wr_cm_q;
    wr_rbase = prod_done_i ? '0 : wr_rbase_q;
    wr_cd    = prod_done_i ? '0 : wr_cd_q;
    wr_addr  = (wr_bank ? ADDR_BITS'(DEPTH) : '0) + wr_rbase + wr_cd;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_c_q     <= '0;
      wr_rm_q    <= '0;
      wr_cm_q    <= '0;
      wr_rbase_q <= '0;
      wr_cd_q    <= '0;
    end else if (s_pix_valid_i && wr_c == WC_BITS'(WIDTH - 1)) begin  // next row
      wr_c_q     <= '0;
      wr_cm_q    <= '0;
      wr_cd_q    <= '0;
      wr_rm_q    <= (wr_rm == KM_BITS'(KERNEL - 1)) ? '0 : wr_rm + 1'b1;
      wr_rbase_q <= (wr_rm == KM_BITS'(KERNEL - 1)) ? wr_rbase + ADDR_BITS'(WB) : wr_rbase;
    end else if (s_pix_valid_i) begin  // next column
      wr_c_q     <= wr_c + 1'b1;
      wr_cm_q    <= (wr_cm == KM_BITS'(KERNEL - 1)) ? '0 : wr_cm + 1'b1;
      wr_cd_q    <= (wr_cm == KM_BITS'(KERNEL - 1)) ? wr_cd + 1'b1 : wr_cd;
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

  // ---- read: every bank serves the one window position that falls in it
  logic [PIX_BITS-1:0] bank_q [NBANK];

  for (genvar i = 0; i < int'(KERNEL); i++) begin : gen_bank_row
    for (genvar j = 0; j < int'(KERNEL); j++) begin : gen_bank_col
      logic [PIX_BITS-1:0]  mem [2 * DEPTH];
      logic [ADDR_BITS-1:0] rd_rbase, rd_cd, rd_addr;
      always_comb begin
        // (frame row in bank row i) div K * WB, and (frame column in bank column j) div K,
        // looked up by output row and column
        rd_rbase = '0;
        rd_cd = '0;
        for (int y = 0; y < int'(OUT_H); y++) begin
          if (rd_row_i == ROW_BITS'(y)) begin
            rd_rbase = ADDR_BITS'(bank_coord(y * STRIDE, i, HEIGHT) / KERNEL * WB);
          end
        end
        for (int x = 0; x < int'(OUT_W); x++) begin
          if (rd_col_i == COL_BITS'(x)) rd_cd = ADDR_BITS'(bank_coord(x * STRIDE, j, WIDTH) / KERNEL);
        end
        rd_addr = (rd_bank ? ADDR_BITS'(DEPTH) : '0) + rd_rbase + rd_cd;
      end
      always_ff @(posedge clk_i) begin
        if (s_pix_valid_i && wr_rm == KM_BITS'(i) && wr_cm == KM_BITS'(j)) begin
          mem[wr_addr] <= s_pix_data_i;
        end
        if (rd_req_i) bank_q[i * KERNEL + j] <= mem[rd_addr];
      end
    end
  end

  // ---- window order: tap (kh, kw) is in bank ((r0 + kh - PADDING) mod K, (c0 + kw -
  // PADDING) mod K) unless it is in the zero padding. Both are looked up at the request and
  // registered one-hot (all zero in the padding), so the rotation is two K:1 AND-OR selects
  // per tap bit (a bank row, then a bank column) and the padding costs nothing.
  logic [KERNEL-1:0] tap_row_q [KERNEL], tap_col_q [KERNEL];  // one-hot bank row / column

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
        for (int x = 0; x < int'(OUT_W); x++) begin
          if (rd_col_i == COL_BITS'(x)) begin
            tap_col_q[k] <= (x * STRIDE + k < PADDING || x * STRIDE + k >= WIDTH + PADDING)
                ? '0 : KERNEL'(1) << ((x * STRIDE + k + KERNEL - PADDING) % KERNEL);
          end
        end
      end
    end
  end

  always_comb begin
    logic [PIX_BITS-1:0] row_word [KERNEL][KERNEL];  // [kh][bank column]
    for (int kh = 0; kh < int'(KERNEL); kh++) begin
      for (int b = 0; b < int'(KERNEL); b++) begin
        row_word[kh][b] = '0;
        for (int a = 0; a < int'(KERNEL); a++) begin
          row_word[kh][b] = row_word[kh][b] | ({PIX_BITS{tap_row_q[kh][a]}} & bank_q[a * KERNEL + b]);
        end
      end
    end
    for (int kh = 0; kh < int'(KERNEL); kh++) begin
      for (int kw = 0; kw < int'(KERNEL); kw++) begin
        logic [PIX_BITS-1:0] word;
        word = '0;
        for (int b = 0; b < int'(KERNEL); b++) begin
          word = word | ({PIX_BITS{tap_col_q[kw][b]}} & row_word[kh][b]);
        end
        rd_data_o[(kh * KERNEL + kw) * PIX_BITS +: PIX_BITS] = word;
      end
    end
  end

endmodule

`default_nettype wire
