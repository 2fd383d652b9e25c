"""Insurance cover (保险) of members on patrol: policies, cover checks at check-in, reminders, export."""
