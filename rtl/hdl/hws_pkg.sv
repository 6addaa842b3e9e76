// hws_pkg: helpers shared by the hwsearch accelerator modules (no logic, no state).
//
// Run-time memory files. Every memory of a compiled design is loaded with $readmemh from a
// file chosen at simulation start, so one compiled hardware shape serves any weight set:
//   +<name>=<path>        names the file of memory <name> explicitly, else
//   +hws_mem_dir=<dir>    gives the directory, and the file is <dir>/<name>.mem, else
//   <name>.mem            in the working directory.
// A missing file is a fatal error at time 0 (a bare $readmemh would only warn).
// Synthesis (SYNTHESIS defined, as by Yosys) sees none of this: the memories are ROMs
// initialised from fixed file names in the working directory (see rtl/synth.py).
`default_nettype none

package hws_pkg;

`ifndef SYNTHESIS
  // Path of the file holding memory `name` (see the header for the lookup order).
  function automatic string mem_path(input string name);
    string path;
    string dir;
    if ($value$plusargs({name, "=%s"}, path)) return path;
    if ($value$plusargs("hws_mem_dir=%s", dir)) return {dir, "/", name, ".mem"};
    return {name, ".mem"};
  endfunction

  // Stop the simulation with a clear message unless `path` can be opened for reading.
  function automatic void require_file(input string path, input string what);
    int fd;
    fd = $fopen(path, "r");
    if (fd == 0) begin
      $display("HWS_ERROR: missing memory file for %s: %s", what, path);
      $fatal(1, "hws: missing memory file %s", path);
    end
    $fclose(fd);
  endfunction
`endif

  // Bits needed to index `n` items (at least 1, so a one-item array still has an index).
  function automatic int unsigned idx_bits(input int unsigned n);
    idx_bits = (n > 1) ? $clog2(n) : 1;
  endfunction

  // Requantization bound (SPEC section 1): the largest accumulator whose step-1 value y is at
  // most `c`, so that y > c exactly when acc > requant_bound(c, shift, acc_bits) (c >= 0):
  //   shift > 0: y > c <=> acc + 2^(shift-1) >= (c + 1) * 2^shift
  //                    <=> acc > c * 2^shift + 2^(shift-1) - 1
  //   shift = 0: acc > c;   shift < 0: acc * 2^-shift > c <=> acc > floor(c / 2^-shift).
  // The bound is >= 0 and is clamped to the accumulator's maximum 2^(acc_bits-1) - 1 (then no
  // accumulator passes), so it fits acc_bits signed bits. Exact for c < 2^32, any shift and
  // acc_bits in 2..62 (every intermediate stays below 2^62).
  function automatic logic [63:0] requant_bound(input logic [63:0] c, input int shift,
                                                input int unsigned acc_bits);
    logic [63:0] hi, bound;
    hi = (64'd1 << (acc_bits - 1)) - 64'd1;
    if (shift > 0) begin
      if (shift >= int'(acc_bits) || c > (hi >> shift)) bound = hi;  // the bound exceeds hi
      else bound = (c << shift) + (64'd1 << (shift - 1)) - 64'd1;
    end else begin
      bound = c >> (-shift);  // shift 0 included; a shift of 64 or more gives 0
    end
    requant_bound = (bound > hi) ? hi : bound;
  endfunction

endpackage

`default_nettype wire
