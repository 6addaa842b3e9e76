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

endpackage

`default_nettype wire
