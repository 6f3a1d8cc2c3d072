"""Report: the paper-layout tables and the plots."""
