"""`/v1` endpoints of the users CSV, in the Webex conventions (a project extension: Webex has no public one).

* `GET  people/csv` — the users CSV (same filters as `GET /people`: email, displayName, locationId…; `template=true`)
* `POST people/csvImportJobs?mode=add-services|add-and-remove-services[&welcomeMail=false]` — multipart `file`, or a
  `text/csv` body; `welcomeMail` (default true, as Control Hub) mails the people the file adds
* `GET  people/csvImportJobs`, `GET people/csvImportJobs/{jobId}` — state, counts, first rows of each outcome
* `POST people/csvImportJobs/{jobId}/actions/apply/invoke` | `…/actions/cancel/invoke`
* `GET  people/csvImportJobs/{jobId}/errors` — the error report CSV
"""
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from controlhub.api.common import WebexAPIView, iso, parse_id
from controlhub.api.ids import webex_id
from controlhub.api.pagination import paginated
from controlhub.models import AuditSource, Job
from users.filters import PersonFilterSet
from users.models import Person

from . import jobs
from .export import iter_csv, organisation_licences
from .validate import KINDS, MODES


def job_webex_id(job: Job) -> str:
    return webex_id("JOB", job.pk)


def job_body(job: Job) -> dict:
    body = {
        "id": job_webex_id(job), "name": job.source_name, "operationType": "USERS_CSV_IMPORT",
        "mode": job.options.get("mode"), "welcomeMail": job.options.get("welcome_mail", True),
        "latestExecutionStatus": job.state, "created": iso(job.created),
        "started": iso(job.started), "finished": iso(job.finished), "totalRows": job.total, "rowsDone": job.done,
        "counts": {k: job.counts.get(k, 0) for k in KINDS},
        "applied": job.counts.get("applied") or None, "message": job.message or None,
        "errors": [{"row": r["row"], "email": r["email"] or None, "column": e["column"] or None,
                    "description": e["reason"]}
                   for r in job.preview.get("rows", {}).get("error", []) for e in r["errors"]] or None,
        "errorReportAvailable": bool(job.error_file),
    }
    return {k: v for k, v in body.items() if v is not None}


class _JobView(WebexAPIView):
    def job(self, request, job_id: str) -> Job:
        org = self.organization(request)
        job = self.visible(Job, request, org).filter(kind=jobs.KIND, pk=parse_id(job_id, "JOB", "jobId")).first()
        if job is None:
            raise Http404("Job not found")
        return job


class PeopleCsvView(WebexAPIView):
    @extend_schema(summary="Export users as Control Hub's users CSV (streamed)", operation_id="people_csv_export",
                   parameters=[OpenApiParameter("email", str), OpenApiParameter("displayName", str),
                               OpenApiParameter("locationId", str), OpenApiParameter("template", bool),
                               OpenApiParameter("orgId", str)],
                   responses={(200, "text/csv"): OpenApiTypes.BINARY})
    def get(self, request):
        org = self.organization(request)
        people = self.visible(Person, request, org)
        params = request.query_params
        filterset = PersonFilterSet({"email": params.get("email", ""), "display_name": params.get("displayName", ""),
                                     "location": str(parse_id(params["locationId"], "LOCATION", "locationId"))
                                     if params.get("locationId") else ""},
                                    queryset=people, organization=org, account=request.user)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        template = params.get("template") == "true"
        response = StreamingHttpResponse(iter_csv(filterset.qs, organisation_licences(org), template),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="users.csv"'
        return response


class ImportJobListView(WebexAPIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(summary="Users CSV import jobs of the organisation", operation_id="people_csv_import_jobs_list",
                   parameters=[OpenApiParameter("orgId", str), OpenApiParameter("start", int),
                               OpenApiParameter("max", int)], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        org = self.organization(request)
        queryset = self.visible(Job, request, org).filter(kind=jobs.KIND).order_by("-created")
        return paginated(request, queryset, lambda rows: [job_body(j) for j in rows])

    @extend_schema(summary="Upload a users CSV: it is validated in the background; apply it after the preview",
                   operation_id="people_csv_import_jobs_create",
                   parameters=[OpenApiParameter("mode", str, enum=list(MODES)), OpenApiParameter("orgId", str),
                               OpenApiParameter("welcomeMail", bool, description="mail the people the file adds "
                                                "(default true)")],
                   request={"multipart/form-data": {"type": "object", "properties": {
                       "file": {"type": "string", "format": "binary"}}}, "text/csv": OpenApiTypes.BINARY},
                   responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        org = self.organization(request)
        mode = request.query_params.get("mode") or "add-services"
        if mode not in MODES:
            raise ValidationError({"mode": f"must be one of {', '.join(MODES)}"})
        welcome = request.query_params.get("welcomeMail")
        if welcome is None and not request.content_type.startswith("text/csv"):
            welcome = request.data.get("welcomeMail")
        welcome = "true" if welcome is None else str(welcome).lower()
        if welcome not in ("true", "false"):
            raise ValidationError({"welcomeMail": "must be true or false"})
        if request.content_type.startswith("text/csv"):
            upload, name = request.body, request.query_params.get("name") or "users.csv"
        else:
            upload = request.data.get("file")
            if upload is None or isinstance(upload, str):
                raise ValidationError({"file": "Attach the CSV as the multipart field `file`."})
            name = upload.name
        try:
            job = jobs.start_import(org, request.user, upload, name=name, mode=mode, source=AuditSource.API,
                                    welcome_mail=welcome == "true")
        except PermissionDenied as exc:
            raise ApiPermissionDenied(str(exc)) from None
        except jobs.JobRefused as exc:
            raise ValidationError({"file": str(exc)}) from None
        return Response(job_body(job), status=status.HTTP_201_CREATED)


class ImportJobDetailView(_JobView):
    @extend_schema(summary="A users CSV import job", operation_id="people_csv_import_job",
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request, job_id: str):
        return Response(job_body(self.job(request, job_id)))


class ImportJobActionView(_JobView):
    @extend_schema(summary="Apply (after the preview) or cancel a users CSV import job", request=None,
                   operation_id="people_csv_import_job_action", responses={202: OpenApiTypes.OBJECT})
    def post(self, request, job_id: str, action: str):
        if action not in ("apply", "cancel"):
            raise Http404("No such action")
        job = self.job(request, job_id)
        if not jobs.may_import(request.user, job.organization):
            raise ApiPermissionDenied("Your administrator role does not allow importing users.")
        try:
            jobs.confirm(job) if action == "apply" else jobs.cancel(job)
        except jobs.JobRefused as exc:
            raise ValidationError({"jobId": str(exc)}) from None
        job.refresh_from_db()
        return Response(job_body(job), status=status.HTTP_202_ACCEPTED)


class ImportJobErrorsView(_JobView):
    @extend_schema(summary="The error report CSV of a users CSV import job",
                   operation_id="people_csv_import_job_errors", responses={(200, "text/csv"): OpenApiTypes.BINARY})
    def get(self, request, job_id: str):
        job = self.job(request, job_id)
        path = jobs.files_dir() / job.error_file if job.error_file else None
        if path is None or not path.exists():
            raise Http404("This job has no error report")
        return FileResponse(open(path, "rb"), as_attachment=True, filename="errors.csv",
                            content_type="text/csv; charset=utf-8")
