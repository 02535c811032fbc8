"""The decision engine: placements and their candidate sources, declarative business
rules, offers with eligibility, budgets and frequency caps, the policies (bandits) that
choose among eligible offers, the decision log and feedback, and the engine that answers
"what should this customer see here, now?" in milliseconds."""
