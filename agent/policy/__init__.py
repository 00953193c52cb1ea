"""Pure policy: the lender's numbers (config), ledger facts, calculations and rules.

Nothing here touches a database, a model or the network: every function takes
facts, the policy config and today, and returns a figure or a decision.
"""
