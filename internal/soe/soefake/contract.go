package soefake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/soebot/soebot/internal/reference"
)

// SpecEnv overrides the location of the SOE OpenAPI document.
const SpecEnv = "SOE_OPENAPI_SPEC"

// FindOpenAPISpec locates the official SOE API v3 OpenAPI document: $SOE_OPENAPI_SPEC,
// else ../shared/soe-v3/openapi.json relative to the module root (found by
// walking up from the working directory to go.mod).
func FindOpenAPISpec() (string, error) {
	if p := os.Getenv(SpecEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", SpecEnv, p, err)
		}
		return p, nil
	}
	return reference.Path("soe-v3/openapi.json")
}

// FindBasicBusinessSpec locates the Stack Overflow for Teams Basic/Business
// flavour of the document: $SOE_OPENAPI_SPEC_BB, else
// ../shared/soe-v3/openapi-basic-business.json.
func FindBasicBusinessSpec() (string, error) {
	if p := os.Getenv(SpecEnvBasicBusiness); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", SpecEnvBasicBusiness, p, err)
		}
		return p, nil
	}
	return reference.Path("soe-v3/openapi-basic-business.json")
}

// SpecEnvBasicBusiness overrides the location of the Basic/Business document.
const SpecEnvBasicBusiness = "SOE_OPENAPI_SPEC_BB"

// OpenAPIValidator checks API requests and responses against the SOE
// OpenAPI document with kin-openapi. Use its Validate method with
// Server.SetValidator.
//
// Search results: PaginatedSearchResults.items is a oneOf of three allOf
// schemas that all declare additionalProperties:false, which no object can
// satisfy under strict JSON Schema. The validator therefore checks the
// search envelope with items unconstrained and checks each item by hand
// against a merged schema (SearchResultModel + the type-specific model,
// chosen by "type", still with no additional properties).
type OpenAPIValidator struct {
	prefix     string // the request path's part before the document's paths
	router     routers.Router
	searchItem map[string]*openapi3.Schema
}

// LoadOpenAPIValidator loads the document at path (slow-ish: load once per
// test binary).
func LoadOpenAPIValidator(path string) (*OpenAPIValidator, error) {
	return loadValidator(path, "/api/v3")
}

// LoadBasicBusinessValidator loads the Basic/Business document at path. Its
// server is /v3 and every path is /teams/{team}/…, so a request to
// /v3/teams/acme/questions matches /teams/{team}/questions.
func LoadBasicBusinessValidator(path string) (*OpenAPIValidator, error) {
	return loadValidator(path, "/v3")
}

func loadValidator(path, prefix string) (*OpenAPIValidator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	// The document's server is a full URL of Stack's test site (or /v3);
	// match the path relative to prefix instead.
	doc.Servers = nil
	schemas := doc.Components.Schemas
	base := schemas["SearchResultModel"]
	if base == nil || schemas["PaginatedSearchResults"] == nil {
		return nil, errors.New("search schemas missing from the OpenAPI document")
	}
	v := &OpenAPIValidator{prefix: prefix, searchItem: map[string]*openapi3.Schema{}}
	for typ, name := range map[string]string{"question": "QuestionSearchResultModel", "answer": "AnswerSearchResultModel", "article": "ArticleSearchResultModel"} {
		own := schemas[name]
		if own == nil {
			return nil, fmt.Errorf("schema %s missing", name)
		}
		merged := openapi3.NewObjectSchema()
		merged.Properties = openapi3.Schemas{}
		for k, p := range base.Value.Properties {
			merged.Properties[k] = p
		}
		for k, p := range own.Value.Properties {
			merged.Properties[k] = p
		}
		no := false
		merged.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
		merged.Required = []string{"type"}
		v.searchItem[typ] = merged
	}
	if items := schemas["PaginatedSearchResults"].Value.Properties["items"]; items != nil && items.Value != nil {
		items.Value.Items = openapi3.NewSchemaRef("", &openapi3.Schema{})
	}
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		return nil, fmt.Errorf("building router: %w", err)
	}
	v.router = router
	return v, nil
}

// Validate checks one exchange. The request path must start with /api/v3
// (/v3 for the Basic/Business document).
// Requests the server rejected with 400 may be invalid (that is the point);
// undocumented 429/5xx responses (injected faults, throttling) are skipped.
func (v *OpenAPIValidator) Validate(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) error {
	ctx := context.Background()
	r := req.Clone(ctx)
	r.URL.Path = strings.TrimPrefix(r.URL.Path, v.prefix)
	r.URL.RawPath = ""
	r.RequestURI = ""
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	where := fmt.Sprintf("%s %s -> %d", req.Method, req.URL.RequestURI(), status)
	route, params, err := v.router.FindRoute(r)
	if err != nil {
		if status == http.StatusNotFound {
			return nil // a 404 for a path the document does not have is correct
		}
		return fmt.Errorf("%s: no matching operation in the OpenAPI document: %w", where, err)
	}
	formats := []openapi3.SchemaValidationOption{openapi3.EnableFormatValidation()}
	reqIn := &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{
			MultiError:              true,
			SchemaValidationOptions: formats,
			AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
				if status == http.StatusUnauthorized {
					return nil // the server rightly refused it
				}
				h := in.RequestValidationInput.Request.Header.Get("Authorization")
				if !strings.HasPrefix(h, "Bearer ") || len(h) < len("Bearer x") {
					return errors.New("no bearer token")
				}
				return nil
			},
		},
	}
	var errs []error
	if err := openapi3filter.ValidateRequest(ctx, reqIn); err != nil && status != http.StatusBadRequest {
		errs = append(errs, fmt.Errorf("request: %w", err))
	}
	documented := route.Operation.Responses.Status(status) != nil
	if !documented && (status == http.StatusTooManyRequests || status >= 500) {
		return errors.Join(errs...)
	}
	respIn := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqIn, Status: status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, SchemaValidationOptions: formats},
	}
	respIn.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, respIn); err != nil {
		errs = append(errs, fmt.Errorf("response: %w", err))
	}
	if strings.HasSuffix(route.Path, "/search") && status == http.StatusOK {
		if err := v.validateSearchItems(respBody, formats); err != nil {
			errs = append(errs, fmt.Errorf("response: %w", err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w", where, errors.Join(errs...))
	}
	return nil
}

func (v *OpenAPIValidator) validateSearchItems(body []byte, opts []openapi3.SchemaValidationOption) error {
	var env struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("search: %w", err)
	}
	for i, it := range env.Items {
		typ, _ := it["type"].(string)
		sch := v.searchItem[typ]
		if sch == nil {
			return fmt.Errorf("search item %d: unknown type %q", i, typ)
		}
		// Round-trip to the generic JSON value kin-openapi expects.
		b, _ := json.Marshal(it)
		var val any
		_ = json.Unmarshal(b, &val)
		if err := sch.VisitJSON(val, append(opts, openapi3.VisitAsResponse(), openapi3.MultiErrors())...); err != nil {
			return fmt.Errorf("search item %d (%s): %w", i, typ, err)
		}
	}
	return nil
}

// sharedValidator caches the loaded document: parsing 475 KB of OpenAPI takes
// a while, and every test of a binary uses the same one.
var sharedValidator = sync.OnceValues(func() (*OpenAPIValidator, error) {
	p, err := FindOpenAPISpec()
	if err != nil {
		return nil, err
	}
	return LoadOpenAPIValidator(p)
})

// SharedValidator returns the validator for the official document, loaded
// once per process. Callers decide what a missing document means (tests:
// fatal in CI, see reference.Required).
func SharedValidator() (*OpenAPIValidator, error) { return sharedValidator() }

var sharedBBValidator = sync.OnceValues(func() (*OpenAPIValidator, error) {
	p, err := FindBasicBusinessSpec()
	if err != nil {
		return nil, err
	}
	return LoadBasicBusinessValidator(p)
})

// SharedBasicBusinessValidator is SharedValidator for the Basic/Business
// document (openapi-basic-business.json).
func SharedBasicBusinessValidator() (*OpenAPIValidator, error) { return sharedBBValidator() }

// ValidatorFor returns the shared validator of the document s is held to:
// the Basic/Business one in that mode, else the Enterprise one.
func ValidatorFor(s *Server) (*OpenAPIValidator, error) {
	if s.BasicBusiness() {
		return SharedBasicBusinessValidator()
	}
	return SharedValidator()
}
