"""A Batch API job: half the price, answers within 24 hours. run_batch writes the requests as
JSONL, uploads it, creates the batch, waits for it, and returns every answer by custom_id.

Key: OPENAI_API_KEY; OPENAI_BASE_URL points it at another server. BATCH_POLL_INTERVAL sets how
often it looks at the batch (30 s by default: real batches take minutes to hours).
"""

import os

import openai_bindings

questions = ["What is 2 + 2?", "Name a prime number.", "Spell 'batch' backwards."]
requests = [
    {"custom_id": f"q{number}", "body": {"messages": [{"role": "user", "content": text}]}}
    for number, text in enumerate(questions)
]

client = openai_bindings.OpenAI()
results = client.run_batch(requests, poll_interval=float(os.environ.get("BATCH_POLL_INTERVAL", "30")))
print("batches:", results.batch_ids, "counts:", results.counts)
for custom_id, result in results.items():
    if result.ok:
        print(custom_id, "->", result.body["choices"][0]["message"]["content"])
    else:
        print(custom_id, "failed:", result.status, result.error)
# After a crash, client.batch_results(results.batch_ids) picks the answers up again.
