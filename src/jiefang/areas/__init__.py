"""Districts (区), streets/towns (街道/镇), comprehensive grids (综合网格) and police grids (警务网格)."""
