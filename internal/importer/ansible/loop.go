package ansible

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// loopItems returns the items of loop or with_items, one nil item when
// there is no loop.
func (c *converter) loopItems(t *yaml.Node, sc scope) ([]any, string, error) {
	loopVar := "item"
	if lc := field(t, "loop_control"); lc != nil {
		for _, kv := range mapping(lc) {
			switch kv[0].Value {
			case "loop_var":
				loopVar = kv[1].Value
			case "label":
				// Only changes what Ansible prints.
			default:
				return nil, "", fmt.Errorf("loop_control.%s has no Optimus equivalent", kv[0].Value)
			}
		}
	}
	if n := field(t, "with_dict"); n != nil {
		v, err := sc.eval(decode(n))
		if err != nil {
			return nil, "", fmt.Errorf("with_dict: %v", err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("with_dict is not a dictionary known at import (%v)", v)
		}
		var items []any
		for _, k := range sortedKeys(m) {
			items = append(items, map[string]any{"key": k, "value": m[k]})
		}
		return items, loopVar, nil
	}
	n := field(t, "loop")
	if n == nil {
		n = field(t, "with_items")
	}
	if n == nil {
		n = field(t, "with_list")
	}
	if n == nil {
		return []any{nil}, loopVar, nil
	}
	v, err := sc.eval(decode(n))
	if err != nil {
		return nil, "", fmt.Errorf("loop: %v", err)
	}
	list, ok := v.([]any)
	if !ok {
		return nil, "", fmt.Errorf("loop is not a list known at import (%v)", v)
	}
	if field(t, "with_items") != nil {
		// with_items flattens one level.
		var flat []any
		for _, e := range list {
			if l, ok := e.([]any); ok {
				flat = append(flat, l...)
			} else {
				flat = append(flat, e)
			}
		}
		list = flat
	}
	if len(list) == 0 {
		return nil, loopVar, nil
	}
	return list, loopVar, nil
}
