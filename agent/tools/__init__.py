"""What the agent may do: ledger tools that enforce identity, authorization and policy in code."""
