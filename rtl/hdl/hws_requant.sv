// hws_requant: requantize an exact accumulator to the next layer's unsigned activation code
// (SPEC section 1; search.transforms.fixed_point.requantize, bit for bit):
//   1. y = (acc + 2^(shift-1)) >>> shift  if shift > 0 (round half up), acc if shift == 0,
//      acc << -shift if shift < 0;
//   2. y = (y > threshold) ? y : 0         (thresholded ReLU);
//   3. y = min(y, 2^OUT_BITS - 1)          (saturate; y >= 0 after step 2).
// shift and threshold are run-time values. The intermediate is ACC_BITS + 34 bits wide and the
// shift amounts are clamped where the result can no longer change (right shifts beyond
// ACC_BITS + 1 give 0, left shifts beyond 32 exceed every threshold and 2^OUT_BITS - 1), so the
// result is exact for every shift in [-2^31 + 1, 2^31 - 1] and threshold in [0, 2^31).
// Latency: 0 (combinational). Throughput: one value per cycle. Backpressure: none.
`default_nettype none

module hws_requant #(
  parameter int unsigned ACC_BITS = 16,  // accumulator width (signed two's complement), bits
  parameter int unsigned OUT_BITS = 8    // output activation width (unsigned), 1..31 bits
) (
  input  wire logic signed [ACC_BITS-1:0] acc_i,
  input  wire logic signed [31:0]         shift_i,      // w_frac + a_frac - next a_frac
  input  wire logic        [31:0]         threshold_i,  // in output units, < 2^31
  output logic             [OUT_BITS-1:0] y_o
);

  localparam int unsigned WIDE = ACC_BITS + 34;
  localparam logic signed [WIDE-1:0] QMAX = (WIDE'(1) << OUT_BITS) - 1;

`ifndef SYNTHESIS
  initial begin
    if (ACC_BITS < 2) $error("hws_requant: ACC_BITS must be >= 2, got %0d", ACC_BITS);
    if (OUT_BITS < 1 || OUT_BITS > 31) $error("hws_requant: OUT_BITS must be in 1..31");
  end
`endif

  always_comb begin
    logic signed [WIDE-1:0] a, y, half, thr;
    int amount;
    a      = {{34{acc_i[ACC_BITS-1]}}, acc_i};
    thr    = {{(WIDE - 32){1'b0}}, threshold_i};
    half   = '0;  // assigned on every path: synthesis infers no latch
    amount = 0;
    if (shift_i > 0) begin
      amount = (shift_i > ACC_BITS + 1) ? ACC_BITS + 1 : shift_i;
      half   = WIDE'(1) << (amount - 1);
      y      = (a + half) >>> amount;
    end else if (shift_i == 0) begin
      y = a;
    end else begin
      amount = (shift_i < -32) ? 32 : -shift_i;
      y      = a <<< amount;
    end
    if (!(y > thr)) y = '0;
    if (y > QMAX) y = QMAX;
    y_o = y[OUT_BITS-1:0];
  end

endmodule

`default_nettype wire
