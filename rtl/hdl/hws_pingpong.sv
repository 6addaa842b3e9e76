// hws_pingpong: bank bookkeeping of a ping-pong (double) frame buffer between two stages.
//
// The producer stage writes frame n into bank n mod 2, the consumer reads it back; a bank holds
// one whole frame. Stages overlap frames (SPEC section 4): a producer claims the bank of its
// next frame when it starts it (prod_start_i), while it may still be writing the previous one,
// and a consumer releases a bank (cons_done_i) as soon as it has read the frame, before its own
// done. The stages start frames only when this module allows it:
//   - rd_avail_o: the consumer's next bank holds a complete frame. A frame completed by
//     prod_done_i in cycle d is readable from cycle d + HANDOFF (registered handshake).
//   - wr_free_o: the bank the producer's next start claims is empty. A bank released by
//     cons_done_i in cycle d is free in that same cycle d.
// wr_bank_o / rd_bank_o are the banks to write / read in the current cycle (they already point
// at the next frame's bank during a done pulse, so the first pixel of the next frame may be
// written in the cycle of the previous frame's done). Latency: see above. Throughput: one frame
// per stage interval. Backpressure: a stage never starts without wr_free_o / rd_avail_o, so
// writes and reads need no handshake of their own.
`default_nettype none

module hws_pingpong #(
  parameter int unsigned HANDOFF = 1  // cycles from prod_done_i to rd_avail_o, >= 1
) (
  input  wire logic clk_i,
  input  wire logic rst_ni,
  input  wire logic prod_start_i, // pulse: the producer starts a frame (claims a bank)
  input  wire logic prod_done_i,  // pulse: the producer completed the frame in wr_bank
  input  wire logic cons_done_i,  // pulse: the consumer finished with the frame in rd_bank
  output logic      wr_bank_o,
  output logic      rd_bank_o,
  output logic      wr_free_o,
  output logic      rd_avail_o
);

`ifndef SYNTHESIS
  initial begin
    if (HANDOFF < 1) $error("hws_pingpong: HANDOFF must be >= 1, got %0d", HANDOFF);
  end
`endif

  logic       wr_q, rd_q;  // bank of the frame being written / read (before a done pulse)
  logic       claim_q;     // bank the producer's next start claims
  logic [1:0] occ_q;       // bank claimed by the producer and not yet released
  logic [1:0] full_q;      // bank holds a frame the consumer may read
  logic       set_full;    // make bank set_bank readable at the end of this cycle
  logic       set_bank;

  assign wr_bank_o  = wr_q ^ prod_done_i;
  assign rd_bank_o  = rd_q ^ cons_done_i;
  assign wr_free_o  = !occ_q[claim_q] || (cons_done_i && (rd_q == claim_q));
  assign rd_avail_o = full_q[rd_bank_o];

  if (HANDOFF == 1) begin : gen_direct
    assign set_full = prod_done_i;
    assign set_bank = wr_q;
  end else begin : gen_delay
    logic [HANDOFF-2:0] pend_q;
    logic [HANDOFF-2:0] bank_q;
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        pend_q <= '0;
        bank_q <= '0;
      end else begin
        pend_q[0] <= prod_done_i;
        bank_q[0] <= wr_q;
        for (int i = 1; i < int'(HANDOFF) - 1; i++) begin
          pend_q[i] <= pend_q[i-1];
          bank_q[i] <= bank_q[i-1];
        end
      end
    end
    assign set_full = pend_q[HANDOFF-2];
    assign set_bank = bank_q[HANDOFF-2];
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_q    <= 1'b0;
      rd_q    <= 1'b0;
      claim_q <= 1'b0;
      occ_q   <= '0;
      full_q  <= '0;
    end else begin
      if (prod_start_i) begin
        occ_q[claim_q] <= 1'b1;
        claim_q        <= !claim_q;
      end
      if (prod_done_i) wr_q <= !wr_q;
      if (set_full) full_q[set_bank] <= 1'b1;
      if (cons_done_i) begin
        if (!(prod_start_i && claim_q == rd_q)) occ_q[rd_q] <= 1'b0;
        full_q[rd_q] <= 1'b0;
        rd_q         <= !rd_q;
      end
    end
  end

endmodule

`default_nettype wire
