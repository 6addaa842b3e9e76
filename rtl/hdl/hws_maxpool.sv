// hws_maxpool: max-pool stage (SPEC section 2), one output pixel per cycle.
//
// Reads one KERNEL x KERNEL window (all channels, from a hws_window_buffer built with the same
// KERNEL and STRIDE and no padding) per cycle and writes the channel-wise maximum as one output
// pixel. Max-pool runs on requantized codes (unsigned, or signed when SIGNED: a max-pool on the
// network input). For a frame started in cycle s (start_o; needs in_avail_i and out_free_i)
// window i is requested in cycle s + i, its maximum is written (m_pix_valid_o) in cycle
// s + i + 2; release_o pulses in cycle s + OUT_H * OUT_W, when the next frame may start, and
// done_o FIXED_DRAIN = 2 cycles later (SPEC section 4). Latency: OUT_H * OUT_W + 2 cycles.
// Throughput: one pixel per cycle, frames back to back. Backpressure: frame level only
// (in_avail_i / out_free_i).
`default_nettype none

module hws_maxpool #(
  parameter int unsigned CHANNELS       = 1,   // channels per pixel
  parameter int unsigned BITS           = 8,   // bits per activation
  parameter bit          SIGNED         = 0,   // activations are signed
  parameter int unsigned KERNEL         = 2,   // window side (pixels)
  parameter int unsigned OUT_H          = 1,   // output rows
  parameter int unsigned OUT_W          = 1,   // output columns
  localparam int unsigned PIX_BITS = CHANNELS * BITS,
  localparam int unsigned ROW_BITS = hws_pkg::idx_bits(OUT_H),
  localparam int unsigned COL_BITS = hws_pkg::idx_bits(OUT_W)
) (
  input  wire logic                                clk_i,
  input  wire logic                                rst_ni,
  input  wire logic                                in_avail_i,
  input  wire logic                                out_free_i,
  output logic                                     start_o,
  output logic                                     release_o,
  output logic                                     done_o,
  output logic                                     m_win_req_o,
  output logic [ROW_BITS-1:0]                      m_win_row_o,
  output logic [COL_BITS-1:0]                      m_win_col_o,
  input  wire logic                                s_win_valid_i,
  input  wire logic [KERNEL*KERNEL*PIX_BITS-1:0]   s_win_data_i,
  output logic                                     m_pix_valid_o,
  output logic [PIX_BITS-1:0]                      m_pix_data_o
);

  localparam int unsigned PIXELS = OUT_H * OUT_W;

`ifndef SYNTHESIS
  initial begin
    if (CHANNELS < 1 || BITS < 1 || KERNEL < 1) $error("hws_maxpool: bad geometry");
  end
`endif

  logic        busy_q;
  int unsigned cnt_q;  // windows requested in the current frame, 1 .. PIXELS
  logic [ROW_BITS-1:0] row_q;
  logic [COL_BITS-1:0] col_q;
  logic [1:0]          rel_q;  // release pulses travelling to done

  assign release_o   = busy_q && cnt_q == PIXELS;
  assign start_o     = (!busy_q || release_o) && in_avail_i && out_free_i;
  assign m_win_req_o = start_o || (busy_q && cnt_q < PIXELS);
  assign m_win_row_o = start_o ? '0 : row_q;
  assign m_win_col_o = start_o ? '0 : col_q;
  assign done_o      = rel_q[1];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_q <= 1'b0;
      cnt_q  <= 0;
      row_q  <= '0;
      col_q  <= '0;
      rel_q  <= '0;
    end else begin
      rel_q <= {rel_q[0], release_o};
      if (start_o) begin
        busy_q <= 1'b1;
        cnt_q  <= 1;
      end else if (release_o) begin
        busy_q <= 1'b0;
      end else if (busy_q) begin
        cnt_q <= cnt_q + 1;
      end
      if (m_win_req_o) begin
        if (m_win_col_o == COL_BITS'(OUT_W - 1)) begin
          col_q <= '0;
          row_q <= m_win_row_o + 1'b1;
        end else begin
          col_q <= m_win_col_o + 1'b1;
          row_q <= m_win_row_o;
        end
      end
    end
  end

  // channel-wise maximum over the window, registered
  logic [PIX_BITS-1:0] max_d;
  always_comb begin
    for (int c = 0; c < int'(CHANNELS); c++) begin
      logic [BITS-1:0] best, v;
      best = s_win_data_i[c*BITS +: BITS];
      for (int e = 1; e < int'(KERNEL * KERNEL); e++) begin
        v = s_win_data_i[(e*CHANNELS + c)*BITS +: BITS];
        if (SIGNED ? ($signed(v) > $signed(best)) : (v > best)) best = v;
      end
      max_d[c*BITS +: BITS] = best;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) m_pix_valid_o <= 1'b0;
    else m_pix_valid_o <= s_win_valid_i;
  end
  always_ff @(posedge clk_i) begin
    if (s_win_valid_i) m_pix_data_o <= max_d;
  end

endmodule

`default_nettype wire
