// hws_maxpool: max-pool stage (SPEC section 2), PX output pixels per cycle.
//
// Reads a group of PX KERNEL x KERNEL windows (PX consecutive output pixels of one row, all
// channels, window j at bits [j*KERNEL*KERNEL*PIX_BITS +: ...], from a hws_window_buffer built
// with the same KERNEL and STRIDE, READ_PX = PX and no padding) per cycle and writes the
// channel-wise maxima as PX output pixels (pixel j at [j*PIX_BITS +: PIX_BITS]). Max-pool runs
// on requantized codes (unsigned, or signed when SIGNED: a max-pool on the network input). For
// a frame started in cycle s (start_o; needs in_avail_i and out_free_i) group i (row
// m_win_row_o, column group m_win_col_o) is requested in cycle s + i, its maxima are written
// (m_pix_valid_o) in cycle s + i + 2; release_o pulses in cycle s + OUT_H * OUT_W / PX, when
// the next frame may start, and done_o FIXED_DRAIN = 2 cycles later (SPEC section 4).
// Latency: OUT_H * OUT_W / PX + 2 cycles. Throughput: PX pixels per cycle, frames back to
// back. Backpressure: frame level only (in_avail_i / out_free_i).
`default_nettype none

module hws_maxpool #(
  parameter int unsigned CHANNELS       = 1,   // channels per pixel
  parameter int unsigned BITS           = 8,   // bits per activation
  parameter bit          SIGNED         = 0,   // activations are signed
  parameter int unsigned KERNEL         = 2,   // window side (pixels)
  parameter int unsigned OUT_H          = 1,   // output rows
  parameter int unsigned OUT_W          = 1,   // output columns
  parameter int unsigned PX             = 1,   // output pixels per cycle, divides OUT_W
  localparam int unsigned PIX_BITS = CHANNELS * BITS,
  localparam int unsigned WIN_BITS = KERNEL * KERNEL * PIX_BITS,
  localparam int unsigned ROW_BITS = hws_pkg::idx_bits(OUT_H),
  localparam int unsigned COL_BITS = hws_pkg::idx_bits(OUT_W / PX)
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
  input  wire logic [PX*WIN_BITS-1:0]              s_win_data_i,
  output logic                                     m_pix_valid_o,
  output logic [PX*PIX_BITS-1:0]                   m_pix_data_o
);

  localparam int unsigned GROUPS = OUT_H * OUT_W / PX;  // groups of PX windows per frame
  localparam int unsigned COLS   = OUT_W / PX;          // groups per row

`ifndef SYNTHESIS
  initial begin
    if (CHANNELS < 1 || BITS < 1 || KERNEL < 1) $error("hws_maxpool: bad geometry");
    if (PX < 1 || OUT_W % PX != 0) $error("hws_maxpool: PX (%0d) must divide OUT_W (%0d)", PX, OUT_W);
  end
`endif

  logic        busy_q;
  int unsigned cnt_q;  // groups requested in the current frame, 1 .. GROUPS
  logic [ROW_BITS-1:0] row_q;
  logic [COL_BITS-1:0] col_q;
  logic [1:0]          rel_q;  // release pulses travelling to done

  assign release_o   = busy_q && cnt_q == GROUPS;
  assign start_o     = (!busy_q || release_o) && in_avail_i && out_free_i;
  assign m_win_req_o = start_o || (busy_q && cnt_q < GROUPS);
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
        if (m_win_col_o == COL_BITS'(COLS - 1)) begin
          col_q <= '0;
          row_q <= m_win_row_o + 1'b1;
        end else begin
          col_q <= m_win_col_o + 1'b1;
          row_q <= m_win_row_o;
        end
      end
    end
  end

  // channel-wise maximum over each window of the group, registered
  logic [PX*PIX_BITS-1:0] max_d;
  always_comb begin
    for (int j = 0; j < int'(PX); j++) begin
      for (int c = 0; c < int'(CHANNELS); c++) begin
        logic [BITS-1:0] best, v;
        best = s_win_data_i[j*WIN_BITS + c*BITS +: BITS];
        for (int e = 1; e < int'(KERNEL * KERNEL); e++) begin
          v = s_win_data_i[j*WIN_BITS + (e*CHANNELS + c)*BITS +: BITS];
          if (SIGNED ? ($signed(v) > $signed(best)) : (v > best)) best = v;
        end
        max_d[(j*CHANNELS + c)*BITS +: BITS] = best;
      end
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
