// An echo application that says what it acted on: its method (after echo's
// MethodOverride middleware, from the header, the form and the query),
// path and the struct echo's Bind fills. Usage: echoapp ADDR
package main

import (
	"net/http"
	"os"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// body is what a handler binds a request to.
type body struct {
	AccessToken string `json:"access_token" form:"access_token" query:"access_token"`
}

func main() {
	e := echo.New()
	e.HideBanner = true
	e.Pre(middleware.MethodOverrideWithConfig(middleware.MethodOverrideConfig{
		Getter: middleware.MethodFromForm("_method")}))
	e.Pre(middleware.MethodOverrideWithConfig(middleware.MethodOverrideConfig{
		Getter: middleware.MethodFromQuery("_method")}))
	e.Pre(middleware.MethodOverride())
	e.Any("/*", func(c echo.Context) error {
		var b body
		err := c.Bind(&b)
		return c.JSON(http.StatusOK, map[string]any{"method": c.Request().Method, "path": c.Request().URL.Path,
			"params": map[string]any{"access_token": b.AccessToken, "bound": err == nil}})
	})
	e.Logger.Fatal(e.Start(os.Args[1]))
}
