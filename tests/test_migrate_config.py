from agent.db.migrate import alembic_config


def test_a_url_encoded_password_survives_alembic_interpolation():
    url = "postgresql+psycopg://loan:p%40ss%25word@db.internal/loan_agent"
    assert alembic_config(url).get_main_option("sqlalchemy.url") == url
