"""numexpr's expression objects, fnjit's (fnjit/expressions.py)."""

from fnjit.expressions import ConstantNode, E, ExpressionNode  # noqa: F401
