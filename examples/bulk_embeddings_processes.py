"""Embed many documents with worker processes (concurrent.futures.ProcessPoolExecutor).

The client travels to each worker: pickled, it carries its settings (the API key
included) and opens its own connections there. Each worker embeds its share with
``client.bulk`` (several requests in flight, within the rate limits); what failed
is reported, not raised, and could be run again with ``done=`` the keys that worked.
"""

import concurrent.futures

import openai_bindings

DOCUMENTS = {f"doc-{i:03d}": f"Document number {i} is about topic {i % 7}." for i in range(120)}
BATCH = 10  # texts per embeddings request
WORKERS = 2


def embed_share(client, share):
    """In a worker process: one share of the documents -> ({id: vector}, [ids that failed])."""
    requests = [
        {"custom_id": ",".join(ids), "url": "/v1/embeddings", "body": {"input": [DOCUMENTS[i] for i in ids]}}
        for ids in (share[n : n + BATCH] for n in range(0, len(share), BATCH))
    ]
    vectors, failed = {}, []
    for key, result in client.bulk(requests, concurrency=4, max_requests_per_minute=3000):
        ids = key.split(",")
        if isinstance(result, Exception):
            failed.extend(ids)
            continue
        for doc_id, item in zip(ids, result.body["data"], strict=True):
            vectors[doc_id] = item["embedding"]
    return vectors, failed


def main():
    client = openai_bindings.OpenAI()  # the key and base URL from the environment, as usual
    ids = sorted(DOCUMENTS)
    shares = [ids[n::WORKERS] for n in range(WORKERS)]
    vectors, failed = {}, []
    with concurrent.futures.ProcessPoolExecutor(max_workers=WORKERS) as pool:
        for found, missed in pool.map(embed_share, [client] * WORKERS, shares):
            vectors.update(found)
            failed.extend(missed)
    dimensions = len(next(iter(vectors.values())))
    done = f"embedded {len(vectors)} of {len(DOCUMENTS)} documents in {WORKERS} processes"
    print(f"{done} ({dimensions} dimensions)")
    if failed:
        print(f"failed: {len(failed)} (run them again)")


if __name__ == "__main__":
    main()
