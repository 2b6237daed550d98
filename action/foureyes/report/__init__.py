"""Everything foureyes writes for a reader: the reporters of each format, the inventory page, the
escaping of each medium, and the guard on the Actions log."""
