@workflow
Feature: The whole data-distribution workflow
  Create an application, push data to the file servers, wait, distribute it to the instances
  with a canary first, wait, get a download URL, and delete the application.

  @extended
  Scenario: create, push, distribute with a canary, download and delete
    Given the target's regions are known
    And the target has at least 2 regions
    And an application with the instances:
      | region    | count |
      | {region1} | 1     |
      | {region2} | 1     |
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I distribute "app01" version "1.0" with the strategy:
      """
      {"name":"ScheduleToAllByMatchExpressions","parameters":{"match_expressions":[{"key":"region_id","operator":"In","values":["{region1}"]}]}}
      """
    Then the distributed instances are the instances in "{region1}"
    When "app01" version "1.0" has been distributed to every target instance
    And I distribute "app01" version "1.0"
    And "app01" version "1.0" has been distributed to every target instance
    Then "app01" version "1.0" is SUCCESS on exactly the distributed instances
    When I ask for the download URL of "app01" version "1.0"
    Then the request succeeds
    And the answer has a download URL and at least one file server with a Host and a RegionId
    When I delete the application
    And the application has been deleted
    And I distribute "app01" version "1.0"
    Then the request fails with HTTP 400 and code "InvalidParameter.AppId"
