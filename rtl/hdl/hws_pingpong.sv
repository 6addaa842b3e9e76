// hws_pingpong: bank bookkeeping of a multi-bank frame buffer between two stages: ping-pong
// (BANKS = 2) or triple-buffered (BANKS = 3).
//
// The producer stage writes frame n into bank n mod BANKS, the consumer reads it back; a bank
// holds one whole frame. Stages overlap frames (SPEC section 4): a producer claims the bank of
// its next frame when it starts it (prod_start_i), while it may still be writing the previous
// one, and a consumer releases a bank (cons_done_i) as soon as it has read the frame, before its
// own done. A third bank lets the producer run one more frame ahead of its consumer (for
// short stages whose fill and drain do not fit two banks). The stages start frames only when
// this module allows it:
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
  parameter int unsigned HANDOFF = 1,  // cycles from prod_done_i to rd_avail_o, >= 1
  parameter int unsigned BANKS   = 2,  // frames the buffer holds, 2 or 3
  localparam int unsigned BANK_BITS = hws_pkg::idx_bits(BANKS)
) (
  input  wire logic                 clk_i,
  input  wire logic                 rst_ni,
  input  wire logic                 prod_start_i, // pulse: the producer starts a frame (claims a bank)
  input  wire logic                 prod_done_i,  // pulse: the producer completed the frame in wr_bank
  input  wire logic                 cons_done_i,  // pulse: the consumer finished with the frame in rd_bank
  output logic [BANK_BITS-1:0]      wr_bank_o,
  output logic [BANK_BITS-1:0]      rd_bank_o,
  output logic                      wr_free_o,
  output logic                      rd_avail_o
);

`ifndef SYNTHESIS
  initial begin
    if (HANDOFF < 1) $error("hws_pingpong: HANDOFF must be >= 1, got %0d", HANDOFF);
    if (BANKS < 2 || BANKS > 3) $error("hws_pingpong: BANKS must be 2 or 3, got %0d", BANKS);
  end
`endif

  // The bank after `b`, in the ring of BANKS.
  function automatic logic [BANK_BITS-1:0] next_bank(input logic [BANK_BITS-1:0] b);
    next_bank = (b == BANK_BITS'(BANKS - 1)) ? '0 : b + 1'b1;
  endfunction

  logic [BANK_BITS-1:0] wr_q, rd_q;  // bank of the frame being written / read (before a done pulse)
  logic [BANK_BITS-1:0] claim_q;     // bank the producer's next start claims
  logic [BANKS-1:0]     occ_q;       // bank claimed by the producer and not yet released
  logic [BANKS-1:0]     full_q;      // bank holds a frame the consumer may read
  logic                 set_full;    // make bank set_bank readable at the end of this cycle
  logic [BANK_BITS-1:0] set_bank;

  assign wr_bank_o  = prod_done_i ? next_bank(wr_q) : wr_q;
  assign rd_bank_o  = cons_done_i ? next_bank(rd_q) : rd_q;
  assign wr_free_o  = !occ_q[claim_q] || (cons_done_i && (rd_q == claim_q));
  assign rd_avail_o = full_q[rd_bank_o];

  if (HANDOFF == 1) begin : gen_direct
    assign set_full = prod_done_i;
    assign set_bank = wr_q;
  end else begin : gen_delay
    logic                 pend_q [HANDOFF-1];
    logic [BANK_BITS-1:0] bank_q [HANDOFF-1];
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        for (int i = 0; i < int'(HANDOFF) - 1; i++) begin
          pend_q[i] <= 1'b0;
          bank_q[i] <= '0;
        end
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
      wr_q    <= '0;
      rd_q    <= '0;
      claim_q <= '0;
      occ_q   <= '0;
      full_q  <= '0;
    end else begin
      if (prod_start_i) begin
        occ_q[claim_q] <= 1'b1;
        claim_q        <= next_bank(claim_q);
      end
      if (prod_done_i) wr_q <= next_bank(wr_q);
      if (set_full) full_q[set_bank] <= 1'b1;
      if (cons_done_i) begin
        if (!(prod_start_i && claim_q == rd_q)) occ_q[rd_q] <= 1'b0;
        full_q[rd_q] <= 1'b0;
        rd_q         <= next_bank(rd_q);
      end
    end
  end

endmodule

`default_nettype wire
