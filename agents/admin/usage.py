"""Back office of usage: the call log and the daily rollup (read-only), and two pages on
the call log's list: cost intelligence (tables, a chart of cost per day, the month-end
forecast, the top drivers) and the prompt playground (one or two models side by side).
The figures are agents.cost's and the calls agents.services.playground's, as in the API."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from core import tenancy
from core.admin.base import ReadOnlyModelAdmin
from core.api.errors import ApiError
from reports.data import Chart, Column, ReportData, ReportParameters, Table
from reports.rendering.charts import chart_svg

from .. import cost
from ..models import AgentUsageMetric, LLMUsageLog
from ..services import playground


@admin.register(LLMUsageLog)
class LLMUsageLogAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "workspace", "source", "status", "model_name", "agent",
                    "workflow", "tokens_in", "tokens_out", "cost", "currency", "latency_ms")
    list_filter = ("source", "status")
    search_fields = ("model_name", "request_id")
    change_list_template = "admin/agents/llmusagelog/change_list.html"

    def get_urls(self):
        own = [path("cost/", self.admin_site.admin_view(self.cost_view),
                    name="agents_llmusagelog_cost"),
               path("playground/", self.admin_site.admin_view(self.playground_view),
                    name="agents_llmusagelog_playground")]
        return [*own, *super().get_urls()]

    def _page(self, request, title: str, template: str, **context):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "title": title, **context}
        return TemplateResponse(request, f"admin/agents/llmusagelog/{template}", context)

    def cost_view(self, request):
        form = CostForm(request.GET or None)
        f, group_by = cost.CostFilter(), "day"
        if form.is_valid():
            data = form.cleaned_data
            group_by = data["group_by"] or "day"
            f = cost.CostFilter(date_from=data["date_from"], date_to=data["date_to"])
        principal = tenancy.principal_for(request)
        result = cost.cost_by(principal, group_by, f) if form.is_valid() or not form.is_bound \
            else None
        context = {"form": form, "result": result}
        if result is not None:
            by_day = result if group_by == "day" else cost.cost_by(principal, "day", f)
            context.update(chart=_day_chart(by_day),
                           forecast=cost.forecast(principal, cost.CostFilter()),
                           drivers=cost.drivers(principal, f))
        return self._page(request, "Cost intelligence", "cost.html", **context)

    def playground_view(self, request):
        principal = tenancy.principal_for(request)
        form = PlaygroundForm(request.POST or None,
                              models=playground.usable_models(principal).order_by("name"))
        result = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            options = {"template": data["template"], "variables": data["variables"] or {},
                       "system": data["system"], "temperature": data["temperature"],
                       "max_tokens": data["max_tokens"], "principal": principal}
            try:
                if data["compare_with"]:
                    result = playground.compare(models=[data["model"], data["compare_with"]],
                                                **options)
                else:
                    result = playground.run(model=data["model"], **options)
            except ApiError as error:
                form.add_error(_field(error), error.message)
        answers = [asdict(a) for a in result.answers] if result else []
        return self._page(request, "Playground", "playground.html", form=form, result=result,
                          answers=answers)


def _field(error: ApiError) -> str | None:
    for name in ("template", "system", "variables"):
        if name in error.errors:
            return name
    return None


def _day_chart(result: dict) -> str | None:
    currencies = sorted({row["currency"] for row in result["rows"]})
    days = sorted({row["key"] for row in result["rows"]})
    values = {(row["key"], row["currency"]): row["cost"] for row in result["rows"]}
    table = Table("cost_by_day", "Cost by day",
                  [Column("day", "Day"), *(Column(c, c) for c in currencies)],
                  [(day, *(values.get((day, c), Decimal(0)) for c in currencies))
                   for day in days])
    chart = Chart("cost_by_day", "Cost by day", "cost_by_day", "day", tuple(currencies),
                  kind="line", x_label="Day", y_label="Cost")
    data = ReportData("agents_cost", "Cost intelligence", ReportParameters(),
                      tables=[table], charts=[chart])
    return chart_svg(data, chart) if currencies else None


class CostForm(forms.Form):
    group_by = forms.ChoiceField(choices=[(g, g.capitalize()) for g in cost.GROUPS],
                                 required=False, initial="day")
    date_from = forms.DateField(required=False, label="From",
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To",
                              widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and \
                data["date_from"] > data["date_to"]:
            raise forms.ValidationError("“From” must be on or before “To”.")
        return data


class PlaygroundForm(forms.Form):
    model = forms.ModelChoiceField(queryset=None, help_text="A chat model.")
    compare_with = forms.ModelChoiceField(queryset=None, required=False,
                                          help_text="A second model answers side by side.")
    system = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             max_length=playground.MAX_TEMPLATE, strip=False)
    template = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}),
                               max_length=playground.MAX_TEMPLATE, strip=False,
                               help_text="Jinja2: {{ name }} reads a variable.")
    variables = forms.JSONField(required=False, initial=dict,
                                widget=forms.Textarea(attrs={"rows": 3}),
                                help_text='A JSON object, e.g. {"name": "Ada"}.')
    temperature = forms.FloatField(required=False, min_value=0, max_value=2)
    max_tokens = forms.IntegerField(required=False, min_value=1, max_value=200_000)

    def __init__(self, *args, models, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].queryset = models
        self.fields["compare_with"].queryset = models

    def clean_variables(self):
        value = self.cleaned_data["variables"]
        if value is not None and not isinstance(value, dict):
            raise forms.ValidationError("Variables must be a JSON object.")
        return value


@admin.register(AgentUsageMetric)
class AgentUsageMetricAdmin(ReadOnlyModelAdmin):
    list_display = ("day", "agent", "workspace", "conversations", "messages", "calls",
                    "errors", "tokens_in", "tokens_out", "cost", "latency_p50_ms",
                    "latency_p95_ms", "positive_feedback", "negative_feedback")
    list_filter = ("day",)
    search_fields = ("agent__name",)
