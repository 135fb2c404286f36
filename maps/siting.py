"""Map layers and report section of the siting stage (filled in below)."""
