"""Day plans for dispatch: pure of I/O except the routing solvers."""
