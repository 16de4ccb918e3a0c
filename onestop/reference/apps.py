from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferenceConfig(AppConfig):
    name = "onestop.reference"
    label = "reference"
    verbose_name = _("基础数据")

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started
        from django.db.models.signals import post_delete, post_save

        from onestop.reference import selectors

        request_started.connect(selectors.request_started, dispatch_uid="reference-stamp-start")
        request_finished.connect(selectors.request_finished, dispatch_uid="reference-stamp-end")
        for model in selectors.STAMPED:
            for signal in (post_save, post_delete):
                signal.connect(
                    selectors.forget_stamp,
                    sender=model,
                    dispatch_uid=f"reference-stamp-{model.__name__}-{signal is post_save}",
                )
