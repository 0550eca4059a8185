from celery import shared_task

from oauth.services import tokens_clear_expired


@shared_task(ignore_result=True)
def clear_expired_tokens() -> None:
    """Periodic (beat): expired tokens and grants are deleted in batches."""
    tokens_clear_expired()
