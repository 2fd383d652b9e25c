"""Members (应急力量), their skills and insurance, and login accounts with roles."""
