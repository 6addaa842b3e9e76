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

  // ---- write address: (row, col) of the next pixel, restarted by a done pulse
  int unsigned wr_r_q, wr_c_q, wr_r, wr_c;
  int unsigned wr_sel;               // bank written
  logic [ADDR_BITS-1:0] wr_addr;     // address inside it

  always_comb begin
    wr_r = prod_done_i ? 0 : wr_r_q;
    wr_c = prod_done_i ? 0 : wr_c_q;
    wr_sel = (wr_r % KERNEL) * KERNEL + (wr_c % KERNEL);
    wr_addr = ADDR_BITS'(int'(wr_bank) * DEPTH + (wr_r / KERNEL) * WB + wr_c / KERNEL);
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_r_q <= 0;
      wr_c_q <= 0;
    end else if (s_pix_valid_i) begin
      wr_c_q <= (wr_c == WIDTH - 1) ? 0 : wr_c + 1;
      wr_r_q <= (wr_c == WIDTH - 1) ? wr_r + 1 : wr_r;
    end else begin
      wr_c_q <= wr_c;
      wr_r_q <= wr_r;
    end
  end

  // ---- read: every bank serves the one window position that falls in it
  int unsigned r0, c0;           // window top-left in padded coordinates
  int unsigned r0_q, c0_q;
  logic [PIX_BITS-1:0] bank_q [NBANK];

  assign r0 = int'(rd_row_i) * STRIDE;
  assign c0 = int'(rd_col_i) * STRIDE;

  for (genvar i = 0; i < int'(KERNEL); i++) begin : gen_bank_row
    for (genvar j = 0; j < int'(KERNEL); j++) begin : gen_bank_col
      logic [PIX_BITS-1:0]  mem [2 * DEPTH];
      logic [ADDR_BITS-1:0] rd_addr;
      always_comb begin
        int unsigned rp, cp, r, c;
        // the window row (column) landing in bank row i (column j), in padded coordinates
        rp = r0 + (i + PADDING + KERNEL - r0 % KERNEL) % KERNEL;
        cp = c0 + (j + PADDING + KERNEL - c0 % KERNEL) % KERNEL;
        // a padding position reads some stored word (it is replaced by zero below)
        r = (rp >= PADDING && rp < HEIGHT + PADDING) ? rp - PADDING : 0;
        c = (cp >= PADDING && cp < WIDTH + PADDING) ? cp - PADDING : 0;
        rd_addr = ADDR_BITS'(int'(rd_bank) * DEPTH + (r / KERNEL) * WB + c / KERNEL);
      end
      always_ff @(posedge clk_i) begin
        if (s_pix_valid_i && wr_sel == i * KERNEL + j) mem[wr_addr] <= s_pix_data_i;
        if (rd_req_i) bank_q[i * KERNEL + j] <= mem[rd_addr];
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rd_valid_o <= 1'b0;
      r0_q <= 0;
      c0_q <= 0;
    end else begin
      rd_valid_o <= rd_req_i;
      if (rd_req_i) begin
        r0_q <= r0;
        c0_q <= c0;
      end
    end
  end

  // rotate the bank words into window order and zero the padding
  always_comb begin
    for (int kh = 0; kh < int'(KERNEL); kh++) begin
      for (int kw = 0; kw < int'(KERNEL); kw++) begin
        int unsigned rp, cp;
        logic pad;
        rp = r0_q + kh;
        cp = c0_q + kw;
        pad = rp < PADDING || rp >= HEIGHT + PADDING || cp < PADDING || cp >= WIDTH + PADDING;
        rd_data_o[(kh * KERNEL + kw) * PIX_BITS +: PIX_BITS] =
            pad ? '0 : bank_q[((rp - PADDING) % KERNEL) * KERNEL + (cp - PADDING) % KERNEL];
      end
    end
  end

endmodule

`default_nettype wire
