// hws_requant_bank (test only): N constant requantizers (hws_requant with RUNTIME = 0) on one
// accumulator, so that one simulation build covers a spread of shifts and thresholds.
// Instance i has SHIFT = SHIFTS[i*32 +: 32] (two's complement) and THRESHOLD =
// THRESHOLDS[i*32 +: 32]; its output is y_o[i*OUT_BITS +: OUT_BITS].
// Latency: 0 (combinational). Throughput: one value per cycle. Backpressure: none.
`default_nettype none

module hws_requant_bank #(
  parameter int unsigned     ACC_BITS   = 16,  // accumulator width, bits
  parameter int unsigned     OUT_BITS   = 8,   // output width, bits
  parameter int unsigned     N          = 1,   // requantizers
  parameter logic [N*32-1:0] SHIFTS     = '0,  // per requantizer, 32 bits two's complement
  parameter logic [N*32-1:0] THRESHOLDS = '0   // per requantizer, 32 bits, < 2^31
) (
  input  wire logic signed [ACC_BITS-1:0] acc_i,
  output logic           [N*OUT_BITS-1:0] y_o
);

  for (genvar i = 0; i < int'(N); i++) begin : gen_requant
    hws_requant #(
      .ACC_BITS(ACC_BITS), .OUT_BITS(OUT_BITS), .SHIFT(int'(SHIFTS[i*32 +: 32])),
      .THRESHOLD(THRESHOLDS[i*32 +: 32]), .RUNTIME(1'b0)
    ) u_requant (
      .acc_i, .shift_i(32'sd0), .threshold_i(32'd0), .y_o(y_o[i*OUT_BITS +: OUT_BITS])
    );
  end

endmodule

`default_nettype wire
