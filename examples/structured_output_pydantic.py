"""Structured output into a pydantic model (pydantic is optional: pip install pydantic).

Key: OPENAI_API_KEY; OPENAI_BASE_URL points it at another server.
"""

from typing import List

from pydantic import BaseModel, Field

import openai_bindings


class Country(BaseModel):
    name: str
    capital: str
    population: int = Field(description="people living there, roughly")
    languages: List[str]


client = openai_bindings.OpenAI()
# The Responses API takes the type as text_format= (chat takes response_format=).
result = client.create_response("Tell me about Portugal.", text_format=Country)
country = result.parsed
print(f"{country.name}: capital {country.capital}, {country.population:,} people, speaks {country.languages}")
