"""Customer-centred goals for the top themes, in seed 000's template and KPI dashboard."""

from voclens.goals.propose import GoalStage, propose_goals

__all__ = ["GoalStage", "propose_goals"]
