"""Portal pages of the users CSV import/export and the Tasks page: upload → preview → confirm → progress →
error report. Thin: they parse, authorise and call `jobs`; the work runs in Celery tasks."""
import csv
import io

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from controlhub.models import ACTIVE_JOB_STATES, Job, JobState
from controlhub.portal.shortcuts import paginate, portal_view, require_change, scoped, visible_or_404
from controlhub.roles import Area
from devices.models import Device
from users.filters import PersonFilterSet
from users.models import Person

from . import columns as C
from . import jobs
from .export import iter_csv, organisation_licences
from .phones import KIND as PHONES_KIND
from .validate import KINDS

MODE_CHOICES = [("add-services", gettext_lazy("Add services only")),
                ("add-and-remove-services", gettext_lazy("Add and remove services"))]
KIND_LABELS = {"create": gettext_lazy("New users"), "update": gettext_lazy("Updated users"),
               "unchanged": gettext_lazy("Unchanged"), "error": gettext_lazy("Errors")}
# A phones file only adds phones: its rows are new phones or errors.
PHONE_KIND_LABELS = {"create": gettext_lazy("New phones"), "error": gettext_lazy("Errors")}


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"),
                           help_text=gettext_lazy("Control Hub's users CSV: export it, edit it, import it."))
    mode = forms.ChoiceField(label=gettext_lazy("Services"), choices=MODE_CHOICES, initial="add-services",
                             widget=forms.RadioSelect)
    welcome_mail = forms.BooleanField(label=gettext_lazy("Send new users the welcome mail"), required=False,
                                      initial=True, help_text=gettext_lazy(
                                          "As Control Hub: people this file adds are invited by mail. Untick to "
                                          "add them quietly (e.g. before announcing the service)."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > jobs.MAX_BYTES:
            raise forms.ValidationError(jobs.too_large_message(upload.size))
        return upload


class PhonesImportForm(ImportForm):
    mode = None
    welcome_mail = None
    file = forms.FileField(label=gettext_lazy("CSV file"), help_text=gettext_lazy(
        "Columns: User ID/Email or Workspace, Model, MAC Address; optionally Location, and per extra line port N "
        "(2 and up) “Line N User ID/Email or Workspace” and “Line N Label” to share another user's or workspace's "
        "line on the phone."))


def _import(request, kind: str, form_class, template_context: dict):
    form = form_class(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = jobs.start_import(request.organization, request.user, form.cleaned_data["file"],
                                    name=form.cleaned_data["file"].name,
                                    mode=form.cleaned_data.get("mode") or "add-services", kind=kind,
                                    welcome_mail=form.cleaned_data.get("welcome_mail", False))
        except jobs.JobRefused as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("bulk:task_detail", pk=job.pk)
    active = scoped(request, Job).filter(kind=kind, state__in=ACTIVE_JOB_STATES).first()
    return render(request, "bulk/import.html", {"form": form, "active": active, "kind": kind,
                                                "max_mb": round(jobs.MAX_BYTES / 1024 / 1024), **template_context})


@portal_view(Area.PEOPLE)
def import_users(request):
    require_change(request, model=Person, action="create")
    return _import(request, jobs.KIND, ImportForm, {"title": _("Import users from CSV")})


@portal_view(Area.DEVICES)
def import_phones(request):
    require_change(request, model=Device, action="create")
    return _import(request, PHONES_KIND, PhonesImportForm, {"title": _("Import phones from CSV")})


@require_safe
@portal_view(Area.PEOPLE)
def export_users(request):
    """The whole organisation, or the Users table as filtered (same filterset and query string)."""
    people = scoped(request, Person)
    filterset = PersonFilterSet(request.GET or None, queryset=people, organization=request.organization,
                                account=request.user)
    queryset = filterset.qs if filterset.is_bound and filterset.is_valid() else people.order_by("display_name", "id")
    template = request.GET.get("template") == "1"
    response = StreamingHttpResponse(iter_csv(queryset, organisation_licences(request.organization), template),
                                     content_type="text/csv; charset=utf-8")
    name = "users-template.csv" if template else "users.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_safe
@portal_view(Area.DEVICES)
def phones_template(request):
    """The phones CSV's header row: owner, model, MAC, location and the first shared-line columns."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    csv.writer(buffer, lineterminator="\r\n").writerow(C.PHONE_TEMPLATE_COLUMNS)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="phones-template.csv"'
    return response


@require_safe
@portal_view(Area.PEOPLE)
def task_list(request):
    page = paginate(request, scoped(request, Job).select_related("created_by").order_by("-created"), size=50)
    return render(request, "bulk/task_list.html", {"page": page})


def _job_context(request, job: Job) -> dict:
    preview = job.preview.get("rows", {})
    labels = PHONE_KIND_LABELS if job.kind == PHONES_KIND else KIND_LABELS
    sections = [{"kind": kind, "label": labels[kind], "count": job.counts.get(kind, 0),
                 "rows": preview.get(kind, [])} for kind in KINDS if kind in labels]
    return {"job": job, "progress": jobs.progress(job), "sections": sections, "is_phones": job.kind == PHONES_KIND,
            "to_apply": job.counts.get("create", 0) + job.counts.get("update", 0),
            "active": job.state in ACTIVE_JOB_STATES, "applied": job.counts.get("applied", {}),
            "file_errors": job.message.splitlines() if job.state == JobState.FAILED else []}


@require_safe
@portal_view(Area.PEOPLE)
def task_detail(request, pk):
    job = visible_or_404(request, Job, pk=pk)
    context = _job_context(request, job)
    if request.htmx:
        return render(request, "bulk/_job_status.html", context)
    return render(request, "bulk/task_detail.html", context)


def _job_action(request, pk, action):
    """Confirm or cancel a job for an admin who may run this kind of import; a refusal is shown on its page."""
    job = visible_or_404(request, Job, pk=pk)
    if not jobs.may_import(request.user, request.organization, job.kind):
        raise PermissionDenied
    try:
        action(job)
    except jobs.JobRefused as exc:
        messages.error(request, str(exc))
    return redirect("bulk:task_detail", pk=job.pk)


@require_POST
@portal_view(Area.PEOPLE)
def task_confirm(request, pk):
    return _job_action(request, pk, jobs.confirm)


@require_POST
@portal_view(Area.PEOPLE)
def task_cancel(request, pk):
    return _job_action(request, pk, jobs.cancel)


@require_safe
@portal_view(Area.PEOPLE)
def task_errors(request, pk):
    job = visible_or_404(request, Job, pk=pk)
    if not job.error_file:
        raise Http404(_("This job has no errors to report."))
    path = jobs.files_dir() / job.error_file
    if not path.exists():
        raise Http404(_("The error report is no longer available."))
    stem = (job.source_name.rsplit(".", 1)[0] or "import")[:80]
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"{stem}-errors.csv",
                        content_type="text/csv; charset=utf-8")
