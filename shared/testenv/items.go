package testenv

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ItemString renders a DynamoDB item canonically (attributes by name, sets and lists as
// stored), so that two snapshots of a table compare as strings and an update in place shows.
func ItemString(it map[string]types.AttributeValue) string {
	return AttributeString(&types.AttributeValueMemberM{Value: it})
}

// AttributeString renders one attribute value canonically: S:"…", N:…, B:<base64>, BOOL:…,
// NULL, L[…], M{…}, SS[…].
func AttributeString(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return fmt.Sprintf("S:%q", v.Value)
	case *types.AttributeValueMemberN:
		return "N:" + v.Value
	case *types.AttributeValueMemberB:
		return "B:" + base64.StdEncoding.EncodeToString(v.Value)
	case *types.AttributeValueMemberBOOL:
		return fmt.Sprintf("BOOL:%v", v.Value)
	case *types.AttributeValueMemberNULL:
		return "NULL"
	case *types.AttributeValueMemberL:
		parts := make([]string, len(v.Value))
		for i, e := range v.Value {
			parts[i] = AttributeString(e)
		}
		return "L[" + strings.Join(parts, ",") + "]"
	case *types.AttributeValueMemberM:
		keys := make([]string, 0, len(v.Value))
		for k := range v.Value {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + AttributeString(v.Value[k])
		}
		return "M{" + strings.Join(parts, ",") + "}"
	case *types.AttributeValueMemberSS:
		return fmt.Sprintf("SS%q", v.Value)
	default:
		return fmt.Sprintf("%T", v)
	}
}
