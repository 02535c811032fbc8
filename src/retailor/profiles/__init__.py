"""The single customer view: one profile per canonical customer, folded from events
(mergeable, so identity merges combine profiles and a rebuild from the log gives the same
state), computed traits (RFM, lifetime value, churn risk, favourites), segments."""
