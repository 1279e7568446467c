"""Admin for the model registry: activate a model (optionally reclassifying the library) and watch the jobs."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from catalog.models import Song

from . import registry
from .models import ModelVersion, ReclassifyJob


def progress_bar(job: ReclassifyJob) -> str:
    return format_html(
        '<progress max="{}" value="{}"></progress> {} / {}', job.total or 1, job.done, job.done, job.total
    )


def job_state(job: ReclassifyJob) -> str:
    return "failed" if job.failed else "finished" if job.finished_at else "running"


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("name", "architecture", "active", "genre_count", "health", "created_at")
    list_filter = ("active", "architecture")
    search_fields = ("name",)
    actions = ["activate_selected"]
    change_list_template = "admin/classifier/modelversion/change_list.html"
    readonly_fields = ("name", "architecture", "active", "health", "genres", "feature_params", "artefact_path",
                       "created_at", "reclassification", "metrics_panel", "model_card")

    def has_add_permission(self, request) -> bool:
        return False  # versions come from the initial migration and from training jobs

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request)  # actions need it; records are read-only

    def has_delete_permission(self, request, obj=None) -> bool:
        return not (obj and obj.active) and super().has_delete_permission(request, obj)

    @admin.display(description="Genres")
    def genre_count(self, version: ModelVersion) -> int:
        return len(version.genres)

    @admin.display(description="Health")
    def health(self, version: ModelVersion) -> str:
        problem = version.load_error or registry.artefact_problem(version)
        if problem:
            return format_html('<span style="color:#e5534b">{}</span>', problem)
        return format_html('<span style="color:#1db954">{}</span>', "ready")

    @admin.display(description="Library reclassification")
    def reclassification(self, version: ModelVersion) -> str:
        job = ReclassifyJob.objects.filter(model_version=version).first()
        if job is None:
            return "—"
        url = reverse("admin:classifier_reclassifyjob_change", args=[job.pk])
        return format_html('{} <a href="{}">{}</a>', progress_bar(job), url, job_state(job))

    @admin.display(description="Metrics")
    def metrics_panel(self, version: ModelVersion) -> str:
        return admin_training.metrics_panel(version)

    @admin.action(description="Activate the selected model…", permissions=["change"])
    def activate_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model to activate.", messages.ERROR)
            return None
        version = queryset.get()
        choice = request.POST.get("activate")
        if choice in {"reclassify", "only"}:
            job = registry.activate(version, reclassify=choice == "reclassify")
            text = f"“{version.name}” is now the active model."
            if job is not None:
                text += f" Reclassifying {job.total} song(s) in the background."
            self.message_user(request, text, messages.SUCCESS)
            return None
        return TemplateResponse(request, "admin/classifier/modelversion/activate_confirmation.html", {
            **self.admin_site.each_context(request),
            "title": f"Activate “{version.name}”?",
            "version": version,
            "current": ModelVersion.get_active(),
            "problem": version.load_error or registry.artefact_problem(version),
            "song_count": Song.objects.count(),
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        })

    def get_urls(self):
        own = [path("retry-failed/", self.admin_site.admin_view(self.retry_failed_view),
                    name="classifier_modelversion_retry_failed")]
        return own + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        failed_count = Song.objects.filter(status=Song.Status.FAILED).count()
        extra_context = {**(extra_context or {}), "failed_count": failed_count}
        return super().changelist_view(request, extra_context)

    def retry_failed_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        count = registry.requeue_failed_songs()
        self.message_user(request, f"Queued {count} failed song(s) for classification again.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:classifier_modelversion_changelist"))


@admin.register(ReclassifyJob)
class ReclassifyJobAdmin(admin.ModelAdmin):
    list_display = ("__str__", "model_version", "progress", "state", "message", "created_at", "finished_at")
    list_select_related = ("model_version",)
    readonly_fields = ("model_version", "progress", "state", "message", "total", "done", "created_at",
                       "heartbeat_at", "resumes", "finished_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Progress")
    def progress(self, job: ReclassifyJob) -> str:
        return progress_bar(job)

    @admin.display(description="State")
    def state(self, job: ReclassifyJob) -> str:
        return job_state(job)


from . import admin_training  # noqa: E402,F401  (training admin, written by the training engineer)
