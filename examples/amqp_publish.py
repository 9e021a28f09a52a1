"""A backend submitting a job straight to RabbitMQ (docs/AMQP.md), in Python with pika.

    python3 examples/amqp_publish.py [output-dir]

Debian/Ubuntu: `apt-get install python3-pika` (or `pip install pika`).
Environment, the same names as the services': AMQP_URL (default
amqp://guest:guest@127.0.0.1:5672), QUEUE_PREFIX (default media), STORAGE_DIR
(default /tmp/media-foundry/storage; this example speaks the `fs` driver: a
storage key `a/b/c` is the file STORAGE_DIR/a/b/c).
"""

import datetime
import json
import os
import shutil
import subprocess
import sys
import uuid

import pika

AMQP_URL = os.environ.get("AMQP_URL") or "amqp://guest:guest@127.0.0.1:5672"
PREFIX = os.environ.get("QUEUE_PREFIX") or "media"
STORAGE_DIR = os.environ.get("STORAGE_DIR") or "/tmp/media-foundry/storage"
out_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "media-foundry-out")

job_id = f"backend-{uuid.uuid4()}"
# under jobs/<job_id>/: if we never collect the job, the services' storage sweeper removes it
input_key = f"jobs/{job_id}/input/clip.mp4"
input_path = os.path.join(STORAGE_DIR, *input_key.split("/"))
os.makedirs(os.path.dirname(input_path), exist_ok=True)
subprocess.run(
    ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=8",
     "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=8",
     "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", input_path],
    check=True,
)


def remove_job_files():
    shutil.rmtree(os.path.join(STORAGE_DIR, "jobs", job_id), ignore_errors=True)


connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
try:
    channel = connection.channel()
    # publisher confirms: basic_publish returns once the broker has the job, and raises
    # UnroutableError for a `mandatory` job it could not route (the intake queue does not exist yet)
    channel.confirm_delivery()
    # replies come to a private queue of ours
    reply_queue = channel.queue_declare(queue="", exclusive=True).method.queue

    job = {
        "job_id": job_id,
        "tenant": "example-backend",
        "operation": "extract_audio",
        "options": {"format": "mp3", "bitrate_kbps": 128},
        "inputs": [{"source": "storage", "key": input_key, "filename": "clip.mp4"}],
        "submitted_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    try:
        channel.basic_publish(
            exchange="",
            routing_key=f"{PREFIX}.jobs",
            body=json.dumps(job),
            properties=pika.BasicProperties(
                content_type="application/json",
                delivery_mode=2,  # persistent
                reply_to=reply_queue,
                correlation_id=job_id,
            ),
            mandatory=True,
        )
    except pika.exceptions.UnroutableError:
        remove_job_files()
        sys.exit(f"job not routed: queue {PREFIX}.jobs does not exist (start the services first, or declare it as docs/AMQP.md says)")
    print(f"{job_id}: published and confirmed", flush=True)

    final = None
    for _method, properties, body in channel.consume(reply_queue, auto_ack=True, inactivity_timeout=300):
        if body is None:
            sys.exit(f"{job_id}: no reply within 300 s")
        reply = json.loads(body)
        if reply["job_id"] != job_id:
            continue
        if reply["type"] == "progress":
            print(f"{job_id}: {reply['stage']} {reply['percentage']:.0f}%", flush=True)
            continue
        final = reply
        break
    channel.cancel()

    if final["type"] == "error":
        sys.exit(f"{job_id}: {final['code']}: {final['message']} ({final.get('details', '')})")
    # the outputs wait in storage under their keys: copy them out, then remove the job's files
    os.makedirs(os.path.join(out_dir, job_id), exist_ok=True)
    for output in final["outputs"]:
        saved = os.path.join(out_dir, job_id, output["filename"])
        shutil.copyfile(os.path.join(STORAGE_DIR, *output["key"].split("/")), saved)
        print(f"{job_id}: saved {saved} ({output['size_bytes']} bytes, {output['content_type']}, key {output['key']})", flush=True)
    remove_job_files()
finally:
    connection.close()
