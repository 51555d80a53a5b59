// loom_defs.svh - width helpers every rtl/ module uses, written once.
`ifndef LOOM_DEFS_SVH
`define LOOM_DEFS_SVH

`define LOOM_MAX(a, b) (((a) > (b)) ? (a) : (b))
// bits to index n things (at least 1)
`define LOOM_IDX_W(n) (((n) > 1) ? $clog2(n) : 1)
// bits to count 0..n
`define LOOM_CNT_W(n) $clog2((n) + 1)
// loom_rd_walk's segments: the longest (K chunk, the 256-byte LUT, COLS
// int32 parameters) sets the byte-offset width; a segment index counts
// to max(ROWS, COLS)
`define LOOM_SEGMAX(kt, cols) `LOOM_MAX(`LOOM_MAX(kt, 256), (cols) * 4)
`define LOOM_OFF_W(kt, cols) `LOOM_CNT_W(`LOOM_SEGMAX(kt, cols))
`define LOOM_SEG_W(rows, cols) `LOOM_CNT_W(`LOOM_MAX(rows, cols))

`endif
