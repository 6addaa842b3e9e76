// hws_loader: the first stage; writes each input frame into the first frame buffer, PX pixels
// (all channels each) per cycle (SPEC section 2).
//
// Input is a valid/ready stream of beats of PX consecutive pixels of one row (pixel j of a
// beat at bits [j*PIX_BITS +: PIX_BITS]), frames back to back in row-major order. A frame
// starts (start_o) in a cycle where the output buffer has a free bank and a beat is valid;
// beat i of a frame started in cycle s is accepted in cycle s + i when the stream does not
// stall, and done_o pulses in cycle s + PIXELS / PX, when the next frame may start. Every
// accepted beat is written to the buffer in the same cycle (m_pix_valid_o, same layout).
// Latency: 0 (combinational pass-through). Throughput: PX pixels per cycle, so T = PIXELS / PX
// cycles per frame when the stream keeps up. Backpressure: s_pix_ready_o is low while the
// output buffer has no free bank; a stalling stream stretches the frame.
`default_nettype none

module hws_loader #(
  parameter int unsigned PIX_BITS = 8,  // bits per pixel: channels * bits per activation
  parameter int unsigned PIXELS   = 1,  // pixels per frame (H * W)
  parameter int unsigned PX       = 1,  // pixels per beat, divides the frame width
  localparam int unsigned BEATS   = PIXELS / PX  // beats per frame
) (
  input  wire logic                clk_i,
  input  wire logic                rst_ni,
  input  wire logic                s_pix_valid_i,
  output logic                     s_pix_ready_o,
  input  wire logic [PX*PIX_BITS-1:0] s_pix_data_i,
  input  wire logic                out_free_i,
  output logic                     start_o,
  output logic                     done_o,
  output logic                     m_pix_valid_o,
  output logic [PX*PIX_BITS-1:0]   m_pix_data_o
);

`ifndef SYNTHESIS
  initial begin
    if (PIX_BITS < 1 || PIXELS < 1) $error("hws_loader: PIX_BITS and PIXELS must be >= 1");
    if (PX < 1 || PIXELS % PX != 0) $error("hws_loader: PX (%0d) must divide PIXELS", PX);
  end
`endif

  logic        busy_q;
  int unsigned cnt_q;  // beats accepted in the current frame

  assign start_o       = !busy_q && out_free_i && s_pix_valid_i;
  assign s_pix_ready_o = start_o || busy_q;
  assign m_pix_valid_o = s_pix_valid_i && s_pix_ready_o;
  assign m_pix_data_o  = s_pix_data_i;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_q <= 1'b0;
      cnt_q  <= 0;
      done_o <= 1'b0;
    end else begin
      done_o <= 1'b0;
      if (m_pix_valid_o) begin
        if ((start_o ? 0 : cnt_q) == BEATS - 1) begin
          busy_q <= 1'b0;
          done_o <= 1'b1;
          cnt_q  <= 0;
        end else begin
          busy_q <= 1'b1;
          cnt_q  <= (start_o ? 0 : cnt_q) + 1;
        end
      end
    end
  end

endmodule

`default_nettype wire
