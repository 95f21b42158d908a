"""Structured output into a dataclass: the schema is derived, the answer parsed.

Key: OPENAI_API_KEY; OPENAI_BASE_URL points it at another server.
"""

from dataclasses import dataclass
from enum import Enum
from typing import List, Optional

import openai_bindings


class Difficulty(Enum):
    EASY = "easy"
    HARD = "hard"


@dataclass
class Recipe:
    """A recipe, as the model should write it."""

    title: str
    ingredients: List[str]
    difficulty: Difficulty
    minutes: Optional[int]


client = openai_bindings.OpenAI()
result = client.create_chat_completion(
    [{"role": "user", "content": "A quick pancake recipe, please."}], response_format=Recipe
)
recipe = result.parsed  # a Recipe, or None when the model refused (then result.refusal says why)
if recipe is None:
    print("refused:", result.refusal)
else:
    print(
        f"{recipe.title} ({recipe.difficulty.value}, {recipe.minutes} min): {', '.join(recipe.ingredients)}"
    )

# The same type on a session: each reply is the text, with .parsed on it.
session = client.new_chat_session(response_format=Recipe)
reply = session.send("And a hard one?")
print("session:", reply.parsed.title if reply.parsed else reply.refusal)
