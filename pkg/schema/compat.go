package schema

import (
	"encoding/json"
	"fmt"
	"slices"
)

// CheckBackward reports why a reader using newText could not read data written
// with oldText (Avro schema resolution, the registry's BACKWARD rule), or nil when
// it can. It covers the Avro features consentflow's schemas use: records, enums,
// arrays, maps, unions, logical types on primitives and numeric promotion.
func CheckBackward(oldText, newText string) []error {
	var oldS, newS any
	if err := json.Unmarshal([]byte(oldText), &oldS); err != nil {
		return []error{fmt.Errorf("parse old schema: %w", err)}
	}
	if err := json.Unmarshal([]byte(newText), &newS); err != nil {
		return []error{fmt.Errorf("parse new schema: %w", err)}
	}
	var errs []error
	canRead(newS, oldS, "$", &errs)
	return errs
}

// typeName returns the Avro type name of a schema node ("record", "string", "union", ...).
func typeName(s any) string {
	switch v := s.(type) {
	case string:
		return v
	case []any:
		return "union"
	case map[string]any:
		if t, ok := v["type"].(string); ok {
			switch t {
			case "record", "enum", "array", "map", "fixed":
				return t
			default:
				return t // primitive with logical type
			}
		}
		return typeName(v["type"])
	}
	return "?"
}

var promotions = map[string][]string{
	"int":    {"long", "float", "double"},
	"long":   {"float", "double"},
	"float":  {"double"},
	"string": {"bytes"},
	"bytes":  {"string"},
}

// canRead appends to errs why reader cannot read writer's data at path.
func canRead(reader, writer any, path string, errs *[]error) {
	rt, wt := typeName(reader), typeName(writer)
	if wt == "union" {
		for _, branch := range writer.([]any) {
			if !readsBranch(reader, branch) {
				*errs = append(*errs, fmt.Errorf("%s: writer union branch %s is not readable", path, typeName(branch)))
			}
		}
		return
	}
	if rt == "union" {
		if !readsBranch(reader, writer) {
			*errs = append(*errs, fmt.Errorf("%s: reader union has no branch for %s", path, wt))
		}
		return
	}
	if rt != wt && !slices.Contains(promotions[wt], rt) {
		*errs = append(*errs, fmt.Errorf("%s: type changed from %s to %s", path, wt, rt))
		return
	}
	rm, _ := reader.(map[string]any)
	wm, _ := writer.(map[string]any)
	switch rt {
	case "record":
		wfields := map[string]map[string]any{}
		for _, f := range asList(wm["fields"]) {
			fm := f.(map[string]any)
			wfields[fm["name"].(string)] = fm
		}
		for _, f := range asList(rm["fields"]) {
			fm := f.(map[string]any)
			name := fm["name"].(string)
			wf, ok := wfields[name]
			if !ok {
				if _, hasDefault := fm["default"]; !hasDefault {
					*errs = append(*errs, fmt.Errorf("%s.%s: new field without a default", path, name))
				}
				continue
			}
			canRead(fm["type"], wf["type"], path+"."+name, errs)
		}
	case "enum":
		rs := asList(rm["symbols"])
		if _, hasDefault := rm["default"]; hasDefault {
			return
		}
		for _, s := range asList(wm["symbols"]) {
			if !slices.Contains(rs, s) {
				*errs = append(*errs, fmt.Errorf("%s: enum symbol %v removed", path, s))
			}
		}
	case "array":
		canRead(rm["items"], wm["items"], path+"[]", errs)
	case "map":
		canRead(rm["values"], wm["values"], path+"{}", errs)
	}
}

func readsBranch(reader, writerBranch any) bool {
	branches := []any{reader}
	if u, ok := reader.([]any); ok {
		branches = u
	}
	for _, b := range branches {
		var errs []error
		canRead(b, writerBranch, "", &errs)
		if len(errs) == 0 {
			return true
		}
	}
	return false
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
