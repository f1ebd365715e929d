"""Layer 6, publishing: disclosure control and the one path from results to every published
format."""
