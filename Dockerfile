# Airflow image with this project's pinned dependencies; the project itself is
# mounted at /opt/ai-carbon by docker-compose.yml.
FROM apache/airflow:3.3.2-python3.11
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt psycopg2-binary==2.9.11
