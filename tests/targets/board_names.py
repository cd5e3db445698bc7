"""Board names the target tests iterate over (a uniquely named helper, importable from tests)."""

EMULATED = ("mps2-an500", "mps2-an386", "mps3-an547")
REAL = ("nucleo-f746zg", "nucleo-h743zi2", "disco-f746ng")
