"""Dispute mediation cases (矛盾纠纷调解) handled by members."""
