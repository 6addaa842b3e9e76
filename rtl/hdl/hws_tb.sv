// hws_tb: the confirmation harness, a pure SystemVerilog testbench (verilator --binary).
//
// Instantiates the generated network top `hws_net` (one per hardware shape), streams N input
// frames into its loader from a file, captures every output pixel and records the cycle of
// every stage's start and done pulse. Cycle 0 is the first cycle after reset, when the loader
// may start frame 0, so the recorded cycles are the start[l][n] / done[l][n] of SPEC section 4.
//
// Plusargs:
//   +hws_in=<file>          input beats, one hex word of IN_BEAT_BITS per line, frames back to
//                           back, beats row-major; a beat holds the loader's PX consecutive
//                           pixels of one row, pixel j at bits [j*C*A_BITS +: C*A_BITS] and
//                           channel c of it at [c*A_BITS +: A_BITS] inside that
//   +hws_frames=<N>         number of frames in the file
//   +hws_out=<file>         written: one hex word of OUT_PIX_BITS per output pixel, in order
//   +hws_cycles=<file>      written: one "start <stage> <cycle>" or "done <stage> <cycle>" line
//                           per pulse, in time order
//   +hws_max_cycles=<C>     watchdog: fail when the last frame is not done after C cycles
//   +hws_mem_dir=<dir>      where the network's run-time memory files are (see hws_pkg)
// On success prints "HWS_OK cycles=<total>" and finishes; on a watchdog expiry prints
// "HWS_WATCHDOG ..." and stops with $fatal (non-zero exit status).
`default_nettype none

`ifndef SYNTHESIS  // simulation only
module hws_tb #(
  parameter int unsigned IN_BEAT_BITS = 8,  // bits per input beat (the loader's PX pixels)
  parameter int unsigned IN_BEATS     = 1,  // beats per input frame
  parameter int unsigned OUT_PIX_BITS = 8,  // bits per output pixel (all channels)
  parameter int unsigned N_STAGES     = 2   // stages including the loader
);

  logic clk = 1'b0;
  logic rst_n = 1'b1;  // pulled low at time 1: the DUT's asynchronous reset needs an edge

  logic                    in_valid, in_ready;
  logic [IN_BEAT_BITS-1:0]  in_data;
  logic                    out_valid;
  logic [OUT_PIX_BITS-1:0] out_data;
  logic [N_STAGES-1:0]     stage_start, stage_done;

  hws_net u_net (
    .clk_i(clk), .rst_ni(rst_n),
    .s_in_valid_i(in_valid), .s_in_ready_o(in_ready), .s_in_data_i(in_data),
    .m_out_valid_o(out_valid), .m_out_data_o(out_data),
    .stage_start_o(stage_start), .stage_done_o(stage_done)
  );

  logic [IN_BEAT_BITS-1:0]  in_q [$];
  int                      out_fd, cycles_fd;  // results are written as they happen
  int                      n_done;             // frames finished by the last stage
  int                      n_frames;
  longint                  max_cycles;
  longint                  cycle;
  int                      in_ptr;
  string                   in_path, out_path, cycles_path;

  initial begin : setup
    int fd, got;
    logic [IN_BEAT_BITS-1:0] word;
    if (!$value$plusargs("hws_in=%s", in_path)) $fatal(1, "hws_tb: +hws_in=<file> missing");
    if (!$value$plusargs("hws_frames=%d", n_frames)) $fatal(1, "hws_tb: +hws_frames=<N> missing");
    if (!$value$plusargs("hws_out=%s", out_path)) out_path = "outputs.hex";
    if (!$value$plusargs("hws_cycles=%s", cycles_path)) cycles_path = "cycles.txt";
    if (!$value$plusargs("hws_max_cycles=%d", max_cycles)) max_cycles = 64'd100_000_000;
    hws_pkg::require_file(in_path, "input frames");
    fd = $fopen(in_path, "r");
    while (!$feof(fd)) begin
      got = $fscanf(fd, "%h\n", word);
      if (got != 1) break;
      in_q.push_back(word);
    end
    $fclose(fd);
    if (n_frames < 1 || in_q.size() != n_frames * IN_BEATS) begin
      $display("HWS_ERROR: %s holds %0d beats, expected %0d frames x %0d", in_path,
               in_q.size(), n_frames, IN_BEATS);
      $fatal(1, "hws_tb: bad input file");
    end
    #1 rst_n = 1'b0;
    out_fd = $fopen(out_path, "w");
    cycles_fd = $fopen(cycles_path, "w");
    if (out_fd == 0 || cycles_fd == 0) $fatal(1, "hws_tb: cannot write %s / %s", out_path,
                                              cycles_path);
    repeat (3) @(negedge clk);
    rst_n = 1'b1;
  end

  initial forever #5 clk = ~clk;

  assign in_valid = rst_n && (in_ptr < in_q.size());
  assign in_data  = in_q[in_ptr];

  task automatic close_results();
    $fclose(out_fd);
    $fclose(cycles_fd);
  endtask

  always @(posedge clk) begin
    if (!rst_n) begin
      cycle  <= 0;
      in_ptr <= 0;
      n_done <= 0;
    end else begin
      if (in_valid && in_ready) in_ptr <= in_ptr + 1;
      if (out_valid) $fwrite(out_fd, "%h\n", out_data);
      for (int l = 0; l < int'(N_STAGES); l++) begin
        if (stage_start[l]) $fwrite(cycles_fd, "start %0d %0d\n", l, cycle);
        if (stage_done[l]) $fwrite(cycles_fd, "done %0d %0d\n", l, cycle);
      end
      if (stage_done[N_STAGES-1]) n_done <= n_done + 1;
      if (stage_done[N_STAGES-1] && n_done + 1 == n_frames) begin
        close_results();
        $display("HWS_OK cycles=%0d", cycle);
        $finish;
      end
      if (cycle >= max_cycles) begin
        close_results();
        $display("HWS_WATCHDOG: %0d of %0d frames done after %0d cycles", n_done, n_frames, cycle);
        $fatal(1, "hws_tb: watchdog expired");
      end
      cycle <= cycle + 1;
    end
  end

endmodule
`endif

`default_nettype wire
