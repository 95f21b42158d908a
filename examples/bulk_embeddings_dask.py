"""Embed many documents on a Dask cluster (dask.distributed), one share per task.

``pip install 'openai-bindings[scale]'`` brings Dask. The client is sent to the
workers like any other argument: pickled, it carries its settings (the API key
included) and opens its own connections in each worker process. Here the cluster
is a small local one; with a real one only the ``Client(...)`` line changes.
"""

import openai_bindings

DOCUMENTS = {f"doc-{i:03d}": f"Document number {i} is about topic {i % 7}." for i in range(120)}
SHARE = 30  # documents per task
BATCH = 10  # texts per embeddings request


def embed_share(client, ids):
    """On a worker: embed one share -> ({id: vector}, [ids that failed])."""
    requests = [
        {
            "custom_id": ",".join(part),
            "url": "/v1/embeddings",
            "body": {"input": [DOCUMENTS[i] for i in part]},
        }
        for part in (ids[n : n + BATCH] for n in range(0, len(ids), BATCH))
    ]
    vectors, failed = {}, []
    for key, result in client.bulk(requests, concurrency=4):
        part = key.split(",")
        if isinstance(result, Exception):
            failed.extend(part)
            continue
        for doc_id, item in zip(part, result.body["data"], strict=True):
            vectors[doc_id] = item["embedding"]
    return vectors, failed


def main():
    from dask.distributed import Client, LocalCluster

    client = openai_bindings.OpenAI()
    ids = sorted(DOCUMENTS)
    shares = [ids[n : n + SHARE] for n in range(0, len(ids), SHARE)]
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as dask,
    ):
        futures = dask.map(embed_share, [client] * len(shares), shares, pure=False)
        vectors, failed = {}, []
        for found, missed in dask.gather(futures):
            vectors.update(found)
            failed.extend(missed)
    dimensions = len(next(iter(vectors.values())))
    done = f"embedded {len(vectors)} of {len(DOCUMENTS)} documents on {len(shares)} Dask tasks"
    print(f"{done} ({dimensions} dimensions)")
    if failed:
        print(f"failed: {len(failed)} (run them again)")


if __name__ == "__main__":
    main()
