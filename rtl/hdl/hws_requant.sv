// hws_requant: requantize an exact accumulator to the next layer's unsigned activation code
// (SPEC section 1; search.transforms.fixed_point.requantize, bit for bit):
//   1. y = (acc + 2^(shift-1)) >>> shift  if shift > 0 (round half up), acc if shift == 0,
//      acc << -shift if shift < 0;
//   2. y = (y > threshold) ? y : 0         (thresholded ReLU);
//   3. y = min(y, 2^OUT_BITS - 1)          (saturate; y >= 0 after step 2).
// Steps 2 and 3 compare the accumulator itself with two bounds (hws_pkg::requant_bound):
// y > threshold <=> acc > pass bound, y > 2^OUT_BITS - 1 <=> acc > saturation bound. Only the
// low OUT_BITS bits of y are then needed: the OUT_BITS + 1 bits of 2 * acc at the shift (the
// lowest is the rounding bit) and an OUT_BITS-bit increment. So the logic is two ACC_BITS-wide
// compares, the increment and the output select.
// The shift and threshold are the parameters SHIFT and THRESHOLD (synthesis: the shift is
// wiring and the bounds are constants), or with RUNTIME the inputs shift_i and threshold_i
// (the simulation build shared by every weight set of a shape; the same datapath, the bounds
// computed at run time by the same function). Exact for every shift (any int) and threshold
// in [0, 2^31).
// Latency: 0 (combinational). Throughput: one value per cycle. Backpressure: none.
`default_nettype none

module hws_requant #(
  parameter int unsigned ACC_BITS  = 16,  // accumulator width (signed two's complement), 2..62
  parameter int unsigned OUT_BITS  = 8,   // output activation width (unsigned), 1..31 bits
  parameter int          SHIFT     = 0,   // w_frac + a_frac - next a_frac (unless RUNTIME)
  parameter int unsigned THRESHOLD = 0,   // in output units, < 2^31 (unless RUNTIME)
  parameter bit          RUNTIME   = 0    // take shift_i and threshold_i instead
) (
  input  wire logic signed [ACC_BITS-1:0] acc_i,
  input  wire logic signed [31:0]         shift_i,      // RUNTIME only: the shift
  input  wire logic        [31:0]         threshold_i,  // RUNTIME only: the threshold, < 2^31
  output logic             [OUT_BITS-1:0] y_o
);

  localparam logic [OUT_BITS-1:0] QMAX = '1;  // 2^OUT_BITS - 1
  // 2 * acc, wide enough for the window: shifts beyond WIDE bits change no bit of it
  localparam int WIDE = ((ACC_BITS > OUT_BITS) ? ACC_BITS : OUT_BITS) + 1;

`ifndef SYNTHESIS
  initial begin
    if (ACC_BITS < 2 || ACC_BITS > 62) $error("hws_requant: ACC_BITS must be in 2..62");
    if (OUT_BITS < 1 || OUT_BITS > 31) $error("hws_requant: OUT_BITS must be in 1..31");
    if (!RUNTIME && THRESHOLD > 32'h7FFF_FFFF) $error("hws_requant: THRESHOLD must be < 2^31");
  end
`endif

  int                         shift;        // the shift in use
  logic signed [ACC_BITS-1:0] pass_above;   // acc > pass_above <=> y > threshold
  logic signed [ACC_BITS-1:0] sat_above;    // acc > sat_above  <=> y > QMAX

  if (RUNTIME) begin : gen_runtime
    always_comb begin
      shift      = shift_i;
      pass_above = ACC_BITS'(hws_pkg::requant_bound(64'(threshold_i), shift_i, ACC_BITS));
      sat_above  = ACC_BITS'(hws_pkg::requant_bound(64'(QMAX), shift_i, ACC_BITS));
    end
  end else begin : gen_constant
    localparam logic [63:0] PASS_ABOVE = hws_pkg::requant_bound(THRESHOLD, SHIFT, ACC_BITS);
    localparam logic [63:0] SAT_ABOVE  = hws_pkg::requant_bound(QMAX, SHIFT, ACC_BITS);
    assign shift      = SHIFT;
    assign pass_above = ACC_BITS'(PASS_ABOVE);
    assign sat_above  = ACC_BITS'(SAT_ABOVE);
  end

  // window = low OUT_BITS + 1 bits of floor(2 * acc / 2^shift); then y = floor((window + 1) / 2)
  // (round half up: floor((acc + 2^(shift-1)) / 2^shift) = floor((floor(2 * acc / 2^shift) + 1)
  // / 2)), whose low OUT_BITS bits need only the window
  logic signed [WIDE-1:0]   twice, scaled;
  logic        [OUT_BITS:0] window;
  logic      [OUT_BITS-1:0] rounded;  // low OUT_BITS bits of step 1's y

  always_comb begin
    twice = WIDE'(acc_i) <<< 1;
    if (shift >= 0) scaled = twice >>> ((shift > WIDE) ? WIDE : shift);
    else            scaled = twice <<< ((shift < -WIDE) ? WIDE : -shift);
    window  = scaled[OUT_BITS:0];
    rounded = window[OUT_BITS:1] + OUT_BITS'(window[0]);
  end

  assign y_o = (acc_i > pass_above) ? ((acc_i > sat_above) ? QMAX : rounded) : '0;

endmodule

`default_nettype wire
